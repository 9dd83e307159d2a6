"""The district outbox: rows written with their event, numbered without gaps, no personal data, published
by `antre serve` on the office broker and resent on request (docs/district.md, docs/protocol.md "District")."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

from antre import config
from antre.clock import ManualClock
from antre.errors import CommandError
from antre.rules import district
from antre.rules.queue import QueueService
from antre.service.server import PLUGINS
from antre.storage import open_database
from tests.support import wait_for

NAME, PHONE, COMMENT = "Siti Aminah", "081234567890", "Petugas Budi ramah sekali, rumah saya di RT 02"


def make_queue(tmp_path, clock=None) -> QueueService:
    cfg = config.from_dict({"queue": {"enforce_hours": False}})
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    return QueueService(cfg, sessions, plugins=PLUGINS,
                        clock=clock or ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)))


def outbox(tmp_path) -> list[tuple[int, str, dict]]:
    with sqlite3.connect(tmp_path / "a.db") as db:
        return [(seq, kind, json.loads(data)) for seq, kind, data in
                db.execute("select seq, kind, data from district_outbox order by seq")]


def test_each_event_is_one_row_numbered_without_gaps_and_carries_no_personal_data(tmp_path):
    q = make_queue(tmp_path)
    q.execute("issue_ticket", "i1", {"service": "adminduk"})
    q.execute("issue_ticket", "w1", {"service": "adminduk", "channel": "web", "name": NAME, "phone": PHONE})
    q.execute("call_next", "c1", {"counter": "loket-1"})
    q.execute("recall", "r1", {"counter": "loket-1"})
    q.execute("complete", "d1", {"counter": "loket-1"})
    q.execute("rate", "t1", {"ticket": "A-001", "score": 3, "elements": [3] * 9, "comment": COMMENT})
    q.execute("call_next", "c2", {"counter": "loket-1"})
    q.execute("skip", "s1", {"counter": "loket-1"})
    rows = outbox(tmp_path)
    assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))
    assert [kind for _, kind, _ in rows] == ["issued", "issued", "called", "called", "completed", "rating",
                                              "called", "skipped"]
    assert rows[0][2] == {"number": "A-001", "service": "adminduk", "priority": None, "channel": "kiosk",
                          "issued_at": "2026-11-30T02:00:00+00:00", "business_date": "2026-11-30",
                          "counter": None}
    assert rows[2][2]["counter"] == "loket-1" and rows[2][2]["recall"] is False and rows[3][2]["recall"] is True
    assert rows[5][2] == {"number": "A-001", "service": "adminduk", "counter": "loket-1", "score": 3,
                          "elements": [3] * 9, "business_date": "2026-11-30"}
    assert rows[1][2]["channel"] == "web"
    with sqlite3.connect(tmp_path / "a.db") as db:   # (the office keeps the name for its own day) ...
        assert db.execute("select count(*) from remote_contacts where name = ?", (NAME,)).fetchone() == (1,)
    text = json.dumps(rows)
    for secret in (NAME, "Siti", PHONE, "81234567890", "Budi", "RT 02"):
        assert secret not in text   # ... the district gets none of it


def test_a_refused_or_replayed_command_writes_no_row(tmp_path):
    q = make_queue(tmp_path)
    q.execute("issue_ticket", "i1", {"service": "adminduk"})
    try:
        q.execute("complete", "d1", {"counter": "loket-1"})
    except CommandError as exc:
        assert exc.code == "nothing_to_complete"
    q.execute("issue_ticket", "i1", {"service": "adminduk"})   # the same request again: replayed
    q.execute("ticket_status", "q1", {"number": "A-001"})       # read-only
    assert [seq for seq, _, _ in outbox(tmp_path)] == [1]


def test_a_failed_transaction_takes_its_rows_back_and_the_sequence_stays_whole(tmp_path):
    q = make_queue(tmp_path)
    q.execute("issue_ticket", "i1", {"service": "adminduk"})

    def broken(s, now, **args):   # another module's handler: issues, then fails -- all of it rolled back
        q.issue(s, now, "umum")
        raise RuntimeError("disk on fire")

    q.handlers["broken"] = broken
    results = q.execute_many([("issue_ticket", "i2", {"service": "adminduk"}), ("broken", "b1", {}),
                              ("issue_ticket", "i3", {"service": "surat"})])
    assert results[1].code == "internal_error"
    rows = outbox(tmp_path)
    assert [seq for seq, _, _ in rows] == [1, 2, 3]
    assert [r[2]["number"] for r in rows] == ["A-001", "A-002", "B-001"]


def test_letter_counts_go_out_as_a_stats_row_only_when_they_change(tmp_path):
    clock = ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc))
    q = make_queue(tmp_path, clock)
    q.tick()
    q.tick()
    stats = [r for r in outbox(tmp_path) if r[1] == "stats"]
    assert len(stats) == 1
    assert stats[0][2]["counts"]["letters"] == {"open": 0, "overdue": 0, "signed_total": 0, "collected_total": 0,
                                                "requested_total": 0}
    assert stats[0][2]["counts"]["complaints"] == {"open": 0, "overdue": 0, "received_total": 0, "closed_total": 0}
    q.plugins["district"].stats_sources["complaints"] = lambda s, now, today: {"open": 2, "overdue": 1}
    clock.advance(seconds=20)
    q.tick()
    stats = [r for r in outbox(tmp_path) if r[1] == "stats"]
    assert len(stats) == 2 and stats[1][2]["counts"]["complaints"] == {"open": 2, "overdue": 1}


def test_a_complaint_counts_and_its_words_stay_home(tmp_path):
    q = make_queue(tmp_path)
    words = "Jalan di depan rumah Pak Slamet rusak parah sejak bulan lalu"
    q.execute("complaint_submit", "k1", {"category": "pengaduan", "topic": "pelayanan", "text": words,
                                         "anonymous": True})
    q.tick()
    stats = [r for r in outbox(tmp_path) if r[1] == "stats"]
    assert stats[-1][2]["counts"]["complaints"]["open"] == 1
    assert "Slamet" not in json.dumps(outbox(tmp_path))


def test_resend_requests_are_checked():
    from antre.link.protocol import DISTRICT_RESEND_MAX, read_resend
    assert read_resend(b'{"from": 3, "to": 9}') == (3, 9)
    assert read_resend(b'{"from": 1, "to": 999999}') == (1, DISTRICT_RESEND_MAX)
    for bad in (b'{"from": 0, "to": 3}', b'{"from": 5, "to": 3}', b'{"from": "1", "to": 3}',
                b'{"from": true, "to": 3}', b'{"from": 1}', b'[1, 2]', b'\xff', b'{"from": 1, "to": 2, "x": 1}',
                b'{"from": 1.5, "to": 3}', b'{"from": 1, "to": 1e300}'):
        assert read_resend(bad) is None, bad


# ---------------------------------------------------------------------- through the service and the broker

def test_the_service_publishes_rows_in_order_keeps_the_head_and_resends_a_range(office):
    from antre.link.mqtt import MqttLink
    from antre.config import MqttConfig
    topics = office.client.topics
    got: list[dict] = []
    heads: list[dict] = []
    hub = MqttLink(MqttConfig(url=office.broker.url), topics, "hub-test", "admin")
    hub.subscribe(topics.district_event, lambda t, p: got.append(json.loads(p)))
    hub.subscribe(topics.district_head, lambda t, p: heads.append(json.loads(p)))
    hub.start()
    try:
        wait_for(lambda: hub.connected.is_set(), what="the hub to connect")
        c = office.client
        for _ in range(5):
            c.ok("issue_ticket", service="adminduk")
        c.ok("call_next", counter="loket-1")
        events = wait_for(lambda: [g for g in got if g["kind"] != "stats"] if len(
            [g for g in got if g["kind"] != "stats"]) >= 6 else None, what="six district rows")
        assert [e["kind"] for e in events] == ["issued"] * 5 + ["called"]
        seqs = [g["seq"] for g in got]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))   # in order, no gap
        assert all(g["office"] == office.office_id for g in got)
        wait_for(lambda: heads and heads[-1]["seq"] == seqs[-1], what="the head to name the newest row")
        # A hostile request first: the service ignores it and keeps working.
        c.publish_raw(topics.district_resend, b'{"from": "all"}')
        c.publish_raw(topics.district_resend, b'\x00' * 100)
        before = len(got)
        first = events[1]["seq"]
        c.publish_raw(topics.district_resend, json.dumps({"from": first, "to": first + 2}).encode())
        wait_for(lambda: len(got) >= before + 3, what="the resent rows")
        again = got[before:]
        assert [g["seq"] for g in again] == [first, first + 1, first + 2]
        assert again == [g for g in got[:before] if first <= g["seq"] <= first + 2]
        c.ok("issue_ticket", service="surat")   # and it still serves
    finally:
        hub.stop()


def test_rows_committed_while_the_broker_was_away_are_named_by_the_head_after_a_restart(tmp_path, broker):
    """Rows the service committed but never published (it was killed) are not lost: the head at the next start
    names them, and a resend brings them."""
    from tests.conftest import start_office
    o = start_office(tmp_path, broker)
    try:
        for _ in range(3):
            o.client.ok("issue_ticket", service="adminduk")
        o.service.kill()
        with sqlite3.connect(o.db_path) as db:   # as if committed just before the kill, never published
            db.execute("insert into district_outbox (seq, kind, at, business_date, data) values "
                       "((select max(seq) + 1 from district_outbox), 'issued', '2026-11-30 02:00:00', "
                       "'2026-11-30', '{}')")
            top = db.execute("select max(seq) from district_outbox").fetchone()[0]
        heads: list[dict] = []
        from antre.link.mqtt import MqttLink
        from antre.config import MqttConfig
        watcher = MqttLink(MqttConfig(url=broker.url), o.client.topics, "hub-watch", "admin")
        watcher.subscribe(o.client.topics.district_head, lambda t, p: heads.append(json.loads(p)))
        watcher.start()
        try:
            o.service.start()
            wait_for(lambda: heads and heads[-1]["seq"] >= top, what="the head to name the unpublished row")
        finally:
            watcher.stop()
    finally:
        o.client.stop()
        o.service.stop()


def test_rows_have_a_whitelist_of_fields():
    kind, data = district.district_payload("ticket_issued", {"number": "A-001", "service": "x", "name": NAME,
                                                             "phone": PHONE, "counter": None})
    assert kind == "issued" and NAME not in json.dumps(data) and PHONE not in json.dumps(data)
    assert district.district_payload("letter_status", {"ref": "abc", "status": "diperiksa"}) == (
        "letter", {"status": "diperiksa"})
    assert district.district_payload("something_new", {"x": 1}) is None


def test_antre_district_resend_asks_the_service_from_the_command_line(office):
    import subprocess
    import sys

    from antre.config import MqttConfig
    from antre.link.mqtt import MqttLink
    from tests.support import ROOT
    topics = office.client.topics
    got: list[dict] = []
    hub = MqttLink(MqttConfig(url=office.broker.url), topics, "hub-cli", "admin")
    hub.subscribe(topics.district_event, lambda t, p: got.append(json.loads(p)))
    hub.start()
    try:
        wait_for(hub.connected.is_set, what="the listener to connect")
        for _ in range(3):
            office.client.ok("issue_ticket", service="adminduk")
        wait_for(lambda: len([g for g in got if g["kind"] == "issued"]) == 3, what="three rows")
        first = min(g["seq"] for g in got if g["kind"] == "issued")
        before = len(got)
        done = subprocess.run([sys.executable, "-m", "antre", "district", "--config", str(office.config_path), "resend",
                               str(first), str(first + 1)], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert done.returncode == 0, done.stderr
        wait_for(lambda: len(got) >= before + 2, what="the rows asked for")
        assert [g["seq"] for g in got[before:]] == [first, first + 1]
        bad = subprocess.run([sys.executable, "-m", "antre", "district", "--config", str(office.config_path), "resend",
                              "5", "2"], capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert bad.returncode == 2 and "FROM and TO" in bad.stderr
    finally:
        hub.stop()


# ---------------------------------------------------------------------- the sequence kept in memory

class Statements:
    """Counts the SQL statements an engine runs that name ``district_outbox``."""

    def __init__(self, engine):
        from sqlalchemy import event
        self.seen: list[str] = []
        event.listen(engine, "before_cursor_execute",
                     lambda conn, cursor, sql, params, context, many: self.seen.append(sql)
                     if "district_outbox" in sql else None)

    def selects(self) -> list[str]:
        return [s for s in self.seen if s.lstrip().upper().startswith("SELECT")]


def test_the_sequence_is_read_once_then_kept_across_rollbacks_and_restarts(tmp_path):
    engine, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    cfg = config.from_dict({"queue": {"enforce_hours": False}})
    clock = ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc))
    q = QueueService(cfg, sessions, plugins=PLUGINS, clock=clock)
    seen = Statements(engine)
    for i in range(10):
        q.execute("issue_ticket", f"i{i}", {"service": "adminduk"})
    assert len([s for s in seen.selects() if "max" in s.lower()]) == 1   # read once, not per row
    assert q.plugins["district"].committed() == 10

    def broken(s, now, **args):   # issues (a district row), then fails: rolled back with its number
        q.issue(s, now, "umum")
        raise RuntimeError("disk on fire")

    broken.batch_safe = True   # shares the burst's transaction: the whole group is rolled back, then retried
    q.handlers["broken"] = broken
    results = q.execute_many([("issue_ticket", "j1", {"service": "surat"}), ("broken", "b1", {}),
                              ("issue_ticket", "j2", {"service": "surat"})])
    assert [getattr(r, "code", None) for r in results] == [None, "internal_error", None]
    assert q.plugins["district"].committed() == 12
    del q.handlers["broken"]
    q.handlers["solo"] = lambda s, now, **args: (q.issue(s, now, "umum"), 1 / 0)   # alone in its transaction
    assert q.execute_many([("solo", "s1", {})])[0].code == "internal_error"
    assert q.plugins["district"].committed() == 12
    # Another process (a restart) continues the same sequence, reading it once.
    again = QueueService(cfg, sessions, plugins=PLUGINS, clock=clock)
    assert again.plugins["district"].committed() is None
    again.execute("issue_ticket", "k1", {"service": "umum"})
    assert again.plugins["district"].committed() == 13 and q.plugins["district"].committed() == 12
    rows = outbox(tmp_path)
    assert [seq for seq, _, _ in rows] == list(range(1, 14))
    assert [r[2]["number"] for r in rows][10:] == ["B-001", "B-002", "C-001"]


def test_the_publisher_reads_nothing_when_nothing_was_committed(tmp_path, broker):
    from antre.config import MqttConfig
    from antre.link.mqtt import MqttLink
    from antre.link.protocol import Topics
    from antre.service.district_link import DistrictPublisher
    engine, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    q = QueueService(config.from_dict({"queue": {"enforce_hours": False}}), sessions, plugins=PLUGINS,
                     clock=ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)))
    q.execute("issue_ticket", "i0", {"service": "adminduk"})   # a row from before the publisher started
    topics = Topics(f"t{tmp_path.name[-8:]}".replace("-", "").replace("_", ""))
    got: list[dict] = []
    link = MqttLink(MqttConfig(url=broker.url), topics, "svc-district-test", "service")
    link.subscribe(topics.district_event, lambda t, p: got.append(json.loads(p)))
    link.start()
    try:
        wait_for(lambda: link.connected.is_set(), what="the link to connect")
        publisher = DistrictPublisher(sessions, link, topics, committed=q.plugins["district"].committed)
        assert publisher.published == 1
        seen = Statements(engine)
        for _ in range(5):
            assert publisher.publish_new() == 0
        assert seen.seen == []   # idle batches and ticks: no query at all
        q.execute("issue_ticket", "i1", {"service": "adminduk"})
        q.execute("issue_ticket", "i2", {"service": "surat"})
        assert publisher.publish_new() == 2
        wait_for(lambda: [g["seq"] for g in got] == [2, 3] or None, what="rows 2 and 3 on the broker")
        seen.seen.clear()
        assert publisher.publish_new() == 0 and seen.seen == []
        assert publisher.resend(b'{"from": 1, "to": 3}') == 3
        wait_for(lambda: [g["seq"] for g in got] == [2, 3, 1, 2, 3] or None, what="the resent rows")
    finally:
        link.stop()
