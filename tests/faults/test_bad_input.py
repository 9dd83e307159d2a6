"""Bad input: property-based fuzzing of every command payload, plus raw garbage.

Each generated message is invalid or refused *by construction* (the oracle is
the protocol as documented, not antre.link.protocol): a wrong type, a missing or
unknown argument, an out-of-range value, a bad request_id or reply_to, an
unknown command topic, a payload over the size limit, invalid UTF-8, JSON nested
too deep, non-JSON bytes, or a well-formed command the queue must refuse
(unknown service or counter, empty queue, nothing to recall...). After every
batch:

- the service process is still running and answers;
- nothing changed: the state ``seq``, the tickets, the request log;
- every readable request (parseable JSON object with a valid request_id) got an
  ``ok: false`` reply carrying its request_id, on the sender's own reply topic.
"""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import start_office
from tests.faults.conftest import COUNTERS, SERVICES, connect
from tests.support import wait_for

MAX_BYTES = 8192  # [queue] max_payload_bytes default
EXAMPLES = 1000
COMMANDS = {
    "issue_ticket": {"service": "adminduk"},
    "call_next": {"counter": "loket-1"},
    "recall": {"counter": "loket-1"},
    "skip": {"counter": "loket-1"},
    "complete": {"counter": "loket-1"},
    "transfer": {"counter": "loket-1", "service": "surat"},
    "pause": {"counter": "loket-1"},
    "resume": {"counter": "loket-1"},
    "rate": {"ticket": "A-001", "score": 4},
}
REQUIRED = {c: list(a) for c, a in COMMANDS.items()}
# Valid shapes the queue must refuse in an office where no ticket was ever issued.
REFUSED = [
    ("issue_ticket", {"service": "tidak-ada"}),
    ("call_next", {"counter": "loket-1"}),
    ("call_next", {"counter": "loket-99"}),
    ("recall", {"counter": "loket-2"}),
    ("skip", {"counter": "loket-3"}),
    ("complete", {"counter": "loket-4"}),
    ("transfer", {"counter": "loket-1", "service": "umum"}),
    ("transfer", {"counter": "loket-1", "service": "tidak-ada"}),
    ("pause", {"counter": "tidak-ada"}),
    ("resume", {"counter": "loket-77"}),
    ("rate", {"ticket": "A-001", "score": 3}),
    ("rate", {"ticket": "Z-999", "score": 1, "elements": [4] * 9, "comment": "bagus"}),
]

# Any Unicode, lone UTF-16 surrogates included (JSON can carry them as \\ud800 escapes; UTF-8 cannot).
any_text = st.text(st.characters(codec=None, categories=None, exclude_categories=()), max_size=12)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def wrong_value(arg: str):
    """Values that the argument ``arg`` must reject."""
    base = st.one_of(st.booleans(), st.floats(allow_nan=False), st.lists(json_scalars, max_size=3),
                     st.dictionaries(st.text(max_size=5), json_scalars, max_size=2))
    if arg in ("service", "counter"):
        return base | st.integers() | st.text(max_size=80).filter(
            lambda s: not (1 <= len(s) <= 32 and s[0].isalnum() and s.islower() is not False
                           and all(ch in "abcdefghijklmnopqrstuvwxyz0123456789_-" for ch in s)))
    if arg == "ticket":
        return base | st.integers() | st.text(max_size=20).filter(
            lambda s: not (len(s) >= 3 and s[0] in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" and s[1] == "-" and s[2:].isdigit()
                           and s[2:].isascii() and len(s) <= 8))
    if arg == "score":
        return base.filter(lambda v: not isinstance(v, bool)) | st.integers().filter(lambda v: not 1 <= v <= 4) | \
            st.text(max_size=3)
    if arg == "priority":
        return base | st.integers() | st.text(max_size=12).filter(lambda s: s not in ("lansia", "disabilitas", "ibu_hamil"))
    if arg == "channel":
        return base | st.integers() | st.text(max_size=12).filter(lambda s: s not in ("kiosk", "web", "counter", "admin"))
    if arg == "elements":
        return base | st.lists(st.integers(1, 4), max_size=8) | \
            st.lists(st.integers(), min_size=9, max_size=9).filter(lambda v: any(not 1 <= x <= 4 for x in v))
    raise AssertionError(arg)


OPTIONAL = {"issue_ticket": ["priority", "channel"], "rate": ["elements"]}


@st.composite
def bad_command(draw, rid: str, reply_to: str):
    """A JSON object for a real command topic that must be refused. Returns (topic_suffix, payload, readable)."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    payload = {"request_id": rid, "reply_to": reply_to, **COMMANDS[command]}
    how = draw(st.sampled_from(["wrong_type", "missing", "unknown_arg", "bad_request_id", "bad_reply_to",
                                "refused", "unknown_command"]))
    readable = True
    if how == "wrong_type":
        arg = draw(st.sampled_from(REQUIRED[command] + OPTIONAL.get(command, [])))
        value = draw(wrong_value(arg))
        if value is None:  # null is "not given": only wrong for a required argument
            if arg not in REQUIRED[command]:
                value = 0
        payload[arg] = value
    elif how == "missing":
        del payload[draw(st.sampled_from(REQUIRED[command]))]
    elif how == "unknown_arg":
        key = draw(any_text.filter(lambda k: k).filter(lambda k: k not in COMMANDS[command] and k not in (
            "request_id", "reply_to", *OPTIONAL.get(command, []), "comment", "date")))
        payload[key] = draw(json_values)
    elif how == "bad_request_id":
        payload["request_id"] = draw(st.one_of(st.none(), st.integers(), st.just(""), st.text(min_size=65, max_size=90),
                                               st.text(max_size=10).map(lambda s: s + "\n"),
                                               any_text.map(lambda s: s + "\ud800"), st.integers(10 ** 30, 10 ** 40)))
        readable = False
    elif how == "bad_reply_to":   # only the sender's own reply topic is accepted; the error goes there
        payload["reply_to"] = draw(st.one_of(st.integers(), st.just("antre/v1/other/reply/x"),
                                             st.just(reply_to.rsplit("/", 1)[0] + "/counter-1"),
                                             st.just(reply_to + "/#"), st.just(reply_to + "+"), st.text(max_size=20)))
    elif how == "refused":
        command, args = draw(st.sampled_from(REFUSED))
        payload = {"request_id": rid, "reply_to": reply_to, **args}
    else:
        # MQTT topic text: mosquitto disconnects a client that publishes control characters in a topic.
        command = draw(st.text(st.characters(categories=["L", "N", "P", "S"], exclude_characters="/+#"),
                               min_size=1, max_size=20).filter(lambda c: c not in COMMANDS))
    return command, json.dumps(payload).encode(), readable


@st.composite
def garbage(draw, rid: str, reply_to: str):
    kind = draw(st.sampled_from(["bytes", "bad_utf8", "deep", "deep_inside", "too_large", "huge", "not_object",
                                 "truncated"]))
    head = {"request_id": rid, "reply_to": reply_to}
    command = draw(st.sampled_from(sorted(COMMANDS)))
    readable = False
    if kind == "bytes":
        data = draw(st.binary(max_size=300))
    elif kind == "bad_utf8":
        data = json.dumps(head | {"service": "adminduk"}).encode()[:-2] + b'\xff\xfe"}'
    elif kind == "deep":
        depth = draw(st.integers(500, 4000))
        data = b"[" * depth + b"]" * depth
    elif kind == "deep_inside":
        depth = draw(st.integers(1200, 3000))
        data = json.dumps(head).encode()[:-1] + b', "counter": ' + b"[" * depth + b"]" * depth + b"}"
    elif kind == "too_large":  # readable, but over the limit: refused with payload_too_large
        data = json.dumps(head | COMMANDS[command] | {"x": "a" * draw(st.integers(MAX_BYTES, 3 * MAX_BYTES))}).encode()
        readable = True
    elif kind == "huge":  # 2-3 MB: the service does not even parse it
        data = b'{"request_id": "' + b"x" * draw(st.integers(2_000_000, 3_000_000)) + b'"}'
    elif kind == "not_object":
        data = json.dumps(draw(st.one_of(json_scalars, st.lists(json_scalars)))).encode()
    else:
        full = json.dumps(head | COMMANDS[command]).encode()
        data = full[:draw(st.integers(0, len(full) - 1))]
    return command, data, readable


class Fuzzer:
    """Publishes messages and collects the error replies that arrive for them."""

    def __init__(self, client):
        self.client = client
        self.reply_to = client.requester.reply_topic
        self.replies: dict[str, dict] = {}
        self.cond = threading.Condition()
        self.sent = self.readable = 0
        client.link.subscribe(self.reply_to, self._reply)

    def _reply(self, topic, payload):
        data = json.loads(payload)
        with self.cond:
            self.replies[data.get("request_id")] = data
            self.cond.notify_all()

    def wait_replies(self, rids: list[str], timeout: float = 20) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: all(r in self.replies for r in rids), timeout)
        assert ok, f"no error reply for {[r for r in rids if r not in self.replies]}"


@pytest.fixture(scope="module")
def fuzz_office(tmp_path_factory, broker):
    office = start_office(tmp_path_factory.mktemp("fuzz"), broker, services=SERVICES, counters=COUNTERS)
    office.client.ok("pause", counter="loket-4")  # opens the business day; state seq is now fixed
    fuzzer = Fuzzer(office.client)
    wait_for(lambda: fuzzer.client.link.connected.is_set())
    yield office, fuzzer
    print(f"\nbad input: {fuzzer.sent} messages sent, {fuzzer.readable} readable ones answered with an error")
    office.client.stop()
    office.service.stop()


def snapshot(db_path):
    with connect(db_path) as db:
        return (db.execute("SELECT value FROM meta WHERE key='state_seq'").fetchone(),
                db.execute("SELECT count(*) FROM tickets").fetchone(),
                db.execute("SELECT count(*) FROM requests").fetchone(),
                db.execute("SELECT counter_id, paused, current_ticket_id FROM counter_states").fetchall())


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=st.data())
@pytest.mark.timeout(200)
def test_bad_input_never_changes_state_and_gets_error_replies(fuzz_office, data):
    office, fz = fuzz_office
    before = snapshot(office.db_path)
    base = office.client.topics.base
    expect: list[str] = []
    n = data.draw(st.integers(1, 8), label="batch")
    for _ in range(n):
        rid = f"fz-{uuid.uuid4().hex[:12]}"
        strategy = bad_command(rid, fz.reply_to) if data.draw(st.booleans(), label="structured") \
            else garbage(rid, fz.reply_to)
        command, payload, readable = data.draw(strategy)
        own = fz.client.command_topic(command)
        topic = data.draw(st.sampled_from([own] * 6 + [
            f"{own}/extra", f"{base}/cmd/{command}", f"{base}/{command}", f"{base}/cmds/{command}"]), label="topic")
        fz.client.publish_raw(topic, payload)
        fz.sent += 1
        if readable and topic == own:
            expect.append(rid)
    # A barrier: a readable refused request; the service handles one publisher's messages in order.
    barrier = f"fz-barrier-{uuid.uuid4().hex[:8]}"
    fz.client.publish_raw(fz.client.command_topic("call_next"), json.dumps(
        {"request_id": barrier, "counter": "loket-99"}))
    fz.wait_replies(expect + [barrier])
    for rid in expect:
        reply = fz.replies[rid]
        assert reply["ok"] is False and reply["error"]["code"] and reply["error"]["message"], reply
    fz.readable += len(expect)
    assert office.service.proc.poll() is None, "the service died:\n" + office.service.output()[-3000:]
    assert snapshot(office.db_path) == before, "a rejected message changed the state"
