"""Counter buttons against a real mosquitto and `antre serve`, with gpiozero MockFactory pins.

The GPIO counters run in this process (MockFactory pins must); the keyboard
backend runs as a real `antre counter` subprocess fed through a pipe.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
import uuid

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from antre import config
from antre_counter.config import CounterAppConfig, GpioCounterConfig, KeyboardCounterConfig
from antre.errors import ConfigError
from antre_counter.app import CounterApp, check
from antre_counter.gpio import Debouncer
from antre_counter.keys import DEFAULT_KEYS, EvdevKeys, KeyboardCounter, StreamKeys, evdev_key_name, keymap
from antre_counter.logic import Light
from tests.conftest import start_office
from tests.support import ROOT, Mosquitto, ServiceProcess, wait_for

#: The documented default BCM pins (docs/counter.md).
PINS = {"next": 17, "recall": 27, "skip": 22, "done": 23, "pause": 5, "transfer": 6, "led": 24, "buzzer": 25}


@pytest.fixture
def pins():
    """gpiozero's MockFactory as the pin factory for the test; the previous factory restored after."""
    saved = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.reset()
        Device.pin_factory = saved


class Panel:
    """One counter's mock buttons, LED and buzzer, driven like a staff member would."""

    def __init__(self, app: CounterApp, factory: MockFactory, counter: str):
        self.app, self.factory, self.counter = app, factory, counter
        self.desk = app.desks[counter]
        self.buttons = app.gpio[counter]
        self.feedback = app.gpio_feedback[counter]
        self.led = factory.pin(PINS["led"])
        self.buzzer = factory.pin(PINS["buzzer"])

    def pin(self, action: str):
        return self.factory.pin(PINS[action])

    def press(self, action: str, bounces: int = 0):
        """A press and release (with ``bounces`` extra edge pairs on the press); returns the outcome."""
        wait_for(lambda: self.buttons.quiet(action) and not self.desk.busy, what=f"{action} ready")
        self.buzzer.clear_states()
        n = len(self.desk.outcomes)
        pin = self.pin(action)
        pin.drive_low()
        for _ in range(bounces):
            pin.drive_high()
            pin.drive_low()
        pin.drive_high()
        wait_for(lambda: len(self.desk.outcomes) > n, what=f"the outcome of {action}")
        return self.desk.outcomes[-1]

    def beeps(self) -> int:
        """Beeps in the pattern just played (waits for it to finish)."""
        wait_for(lambda: not self.feedback.beeping and not self.buzzer.state, what="the beep pattern to end")
        return sum(1 for s in self.buzzer.states[1:] if s.state)

    def led_blinks(self, transitions: int = 4) -> bool:
        self.led.clear_states()
        wait_for(lambda: len(self.led.states) > transitions, what="the LED to blink")
        return True


@pytest.fixture
def station(pins):
    """``station(office, **wiring)`` starts an in-process CounterApp driving loket-2 on MockFactory pins."""
    apps: list[CounterApp] = []

    def start(office, counter: str = "loket-2", timeout: float = 5.0, **wiring) -> Panel:
        cfg = config.load(office.config_path)
        w = dict(PINS) | {"counter": counter, "transfer_service": "surat"} | wiring
        cfg = cfg.replace(
            mqtt=dataclasses.replace(cfg.mqtt, reconnect_max_delay=1.0),
            counter=CounterAppConfig(client_id=f"counter-{uuid.uuid4().hex[:8]}", request_timeout=timeout,
                                     gpio=[GpioCounterConfig(**w)]))
        app = CounterApp(cfg, pin_factory=pins).start()
        apps.append(app)
        panel = Panel(app, pins, counter)
        wait_for(lambda: panel.desk.reachable and panel.desk.status is not None, what="the counter to see the service")
        return panel

    try:
        yield start
    finally:
        for app in apps:
            app.stop()


def counter_state(state: dict, counter: str = "loket-2") -> dict:
    return next(c for c in state["counters"] if c["id"] == counter)


def issue(office, n: int, service: str = "adminduk") -> list[str]:
    return [office.client.ok("issue_ticket", service=service)["number"] for _ in range(n)]


# --------------------------------------------------------------------------- GPIO, against the real service

def test_each_button_drives_the_queue_with_led_and_buzzer(office, station):
    p = station(office)
    issue(office, 3)
    c = office.client

    out = p.press("next")
    assert (out.ok, out.text) == (True, "called A-001")
    wait_for(lambda: c.events_of("ticket_called"), what="ticket_called")
    call = c.events_of("ticket_called")[0]
    assert (call["number"], call["counter"]["id"], call["recall"]) == ("A-001", "loket-2", False)
    c.wait_state(lambda s: counter_state(s)["serving"] and counter_state(s)["serving"]["number"] == "A-001")
    assert p.led.state is True and p.desk.light is Light.ON
    assert p.beeps() == 1

    out = p.press("recall")
    assert out.text == "recalled A-001"
    wait_for(lambda: len(c.events_of("ticket_called")) == 2, what="the recall")
    assert c.events_of("ticket_called")[1]["recall"] is True
    assert p.beeps() == 1

    out = p.press("skip")
    assert out.text == "skipped A-001"
    wait_for(lambda: c.events_of("ticket_skipped"), what="ticket_skipped")
    assert c.events_of("ticket_skipped")[0]["number"] == "A-001"
    c.wait_state(lambda s: counter_state(s)["status"] == "idle")
    assert p.led.state is False

    assert p.press("next").text == "called A-002"
    out = p.press("done")
    assert out.text == "completed A-002"
    wait_for(lambda: c.events_of("ticket_completed"), what="ticket_completed")
    assert c.events_of("ticket_completed")[0]["number"] == "A-002"
    c.wait_state(lambda s: counter_state(s)["status"] == "idle" and s["rateable"])

    assert p.press("next").text == "called A-003"
    assert p.led.state is True
    out = p.press("transfer")
    assert out.text == "transferred A-003 to surat"
    wait_for(lambda: c.events_of("ticket_transferred"), what="ticket_transferred")
    moved = c.events_of("ticket_transferred")[0]
    assert (moved["number"], moved["service"], moved["from_service"]) == ("A-003", "surat", "adminduk")
    c.wait_state(lambda s: c.service_state("surat")["waiting"] == 1)

    out = p.press("pause")
    assert out.text == "paused"
    c.wait_state(lambda s: counter_state(s)["status"] == "paused")
    assert p.led.state is False and p.desk.light is Light.OFF
    assert p.beeps() == 1

    out = p.press("next")                        # refused while paused: the error pattern
    assert (out.ok, out.code) == (False, "counter_paused")
    assert p.beeps() == 3
    assert p.led.state is False

    wait_for(lambda: p.desk.status == "paused", what="the desk to know it is paused")
    out = p.press("pause")                       # the same button resumes
    assert out.text == "resumed"
    c.wait_state(lambda s: counter_state(s)["status"] == "idle")

    assert p.press("next").text == "called A-003"   # the transferred ticket, now in 'surat'
    out = p.press("next")                       # nobody left: the error pattern, ticket stays called
    assert (out.ok, out.code) == (False, "queue_empty")
    assert p.beeps() == 3
    assert p.led.state is True
    assert [o.commands for o in p.desk.outcomes] == [
        ("call_next",), ("recall",), ("skip",), ("call_next",), ("complete",), ("call_next",), ("transfer",),
        ("pause",), ("call_next",), ("resume",), ("call_next",), ("call_next",)]
    assert len({rid for _, rid in p.desk.sent}) == len(p.desk.sent) == 12   # a fresh request_id each


def test_a_bouncy_press_is_one_command(office, station):
    p = station(office, bounce_time=0.5)
    issue(office, 2)
    out = p.press("next", bounces=3)             # 8 edges, all inside the bounce time
    assert out.text == "called A-001"
    pin = p.pin("next")
    for _ in range(3):                           # release bounce after the reply came back
        pin.drive_low()
        pin.drive_high()
    assert [cmd for cmd, _ in p.desk.sent] == ["call_next"]
    assert p.desk.wait_idle(5)
    state = office.client.wait_state(lambda s: counter_state(s)["status"] == "serving")
    assert office.client.service_state("adminduk")["waiting"] == 1
    assert counter_state(state)["serving"]["number"] == "A-001"
    assert p.beeps() == 1


def test_presses_while_a_command_is_in_flight_are_ignored(office, station):
    p = station(office, timeout=30)
    issue(office, 2)
    office.service.freeze()   # the service hangs: the command stays in flight
    try:
        wait_for(lambda: p.buttons.quiet("next"), what="next ready")
        p.pin("next").drive_low()
        p.pin("next").drive_high()
        assert p.desk.busy and p.desk.light is Light.BUSY
        assert p.led_blinks()
        for action in ("next", "next", "done", "recall"):
            wait_for(lambda: p.buttons.quiet(action), what=f"{action} ready")
            p.pin(action).drive_low()
            p.pin(action).drive_high()
        assert [cmd for cmd, _ in p.desk.sent] == ["call_next"]
    finally:
        office.service.thaw()
    assert p.desk.wait_idle(20)
    assert p.desk.outcomes[-1].text == "called A-001"
    office.client.wait_state(lambda s: counter_state(s)["status"] == "serving"
                             and office.client.service_state("adminduk")["waiting"] == 1)
    assert len(office.client.events_of("ticket_called")) == 1
    assert p.led.state is True


def test_a_hung_service_gives_the_error_signal_and_the_late_press_is_not_applied(tmp_path, broker, station):
    office = start_office(tmp_path, broker, queue="max_command_age = 0.5")
    try:
        p = station(office, timeout=1.0)
        issue(office, 1)
        office.service.freeze()
        try:
            out = p.press("next")
            assert (out.ok, out.code) == (False, "timeout")
            assert p.beeps() == 3
            assert p.desk.light is Light.OFFLINE and p.led_blinks()
        finally:
            office.service.thaw()
        # The service wakes up and finds the "next" in its socket, a second late: staff already got the
        # error signal, so it must not call anyone now.
        wait_for(lambda: "stale" in office.service.output() and "arrived" in office.service.output(),
                 what="the late call_next to be refused")
        # (The newest state may still be one from before the ticket: wait for the one that shows it.)
        office.client.wait_state(lambda s: counter_state(s)["status"] == "idle" and next(
            x for x in s["services"] if x["code"] == "adminduk")["waiting"] == 1)
        assert office.client.events_of("ticket_called") == []
        assert p.press("next").text == "called A-001"     # pressing again works
        assert p.desk.reachable
    finally:
        office.client.stop()
        office.service.stop()


def test_holding_next_skips_then_calls(office, station):
    p = station(office, hold_next_skips=True, hold_time=0.3)
    issue(office, 3)
    assert p.press("next").text == "called A-001"     # a tap is a plain next (on release)
    office.client.wait_state(lambda s: counter_state(s)["status"] == "serving")

    wait_for(lambda: p.buttons.quiet("next"), what="next ready")
    n = len(p.desk.outcomes)
    p.pin("next").drive_low()                           # and keep holding it
    wait_for(lambda: len(p.desk.outcomes) > n, what="the hold to act")
    p.pin("next").drive_high()
    out = p.desk.outcomes[-1]
    assert (out.action, out.text, out.commands) == ("next (held)", "skipped A-001, called A-002",
                                                    ("skip", "call_next"))
    wait_for(lambda: office.client.events_of("ticket_skipped"), what="ticket_skipped")
    assert office.client.events_of("ticket_skipped")[0]["number"] == "A-001"
    office.client.wait_state(lambda s: (counter_state(s)["serving"] or {}).get("number") == "A-002")
    assert p.desk.wait_idle(5) and [cmd for cmd, _ in p.desk.sent] == ["call_next", "skip", "call_next"]


def test_broker_outage_gives_the_error_signal_at_once_and_recovers(tmp_path, pins, station):
    broker = Mosquitto(tmp_path / "mosquitto").start()
    office = start_office(tmp_path, broker)
    try:
        p = station(office)
        issue(office, 1)
        states_before = len(office.client.states)

        broker.stop()
        office.client.service_status = {}              # forget what was seen before the outage
        wait_for(lambda: p.desk.light is Light.OFFLINE, what="the counter to notice the outage")
        assert p.led_blinks()
        out = p.press("next")
        assert (out.ok, out.code) == (False, "offline")
        assert p.beeps() == 3
        assert p.desk.sent[-1][0] == "call_next"
        assert p.led_blinks()                       # still unreachable: still blinking

        broker.start()                               # same port; everyone reconnects by themselves
        wait_for(lambda: p.desk.reachable and p.desk.light is Light.OFF, timeout=30,
                 what="the counter to reconnect")
        office.client.wait_service(online=True)      # the service reconnects with its own backoff
        wait_for(lambda: len(office.client.states) > states_before, timeout=30,
                 what="the service to publish its state again")
        out = p.press("next")
        assert out.text == "called A-001"            # the press during the outage was not replayed
        assert p.beeps() == 1 and p.led.state is True
        assert len(office.client.events_of("ticket_called")) == 1
    finally:
        office.client.stop()
        office.service.stop()
        broker.stop()


def test_service_offline_fails_at_once_without_sending(office, station):
    p = station(office)
    issue(office, 1)
    office.service.stop()                            # publishes its offline status on the way out
    wait_for(lambda: p.desk.light is Light.OFFLINE, what="the counter to see the service go")
    out = p.press("next")
    assert (out.ok, out.code) == (False, "service_offline")
    assert p.desk.sent == type(p.desk.sent)()        # nothing was sent to be replayed later
    assert p.beeps() == 3

    office.service = ServiceProcess(office.config_path, office.service.log_path).start()
    wait_for(lambda: p.desk.reachable, what="the service to come back")
    assert p.press("next").text == "called A-001"


# --------------------------------------------------------------------------- keyboard, through a pipe

@pytest.mark.parametrize("end", ["eof", "sigterm"])
def test_keyboard_from_a_pipe(tmp_path, broker, end):
    client_id = f"counter-{uuid.uuid4().hex[:8]}"
    office = start_office(tmp_path, broker, extra=f'\n[counter]\nclient_id = "{client_id}"\n')
    log_path = tmp_path / "counter.log"
    proc = None
    statuses: list[dict] = []
    office.client.link.subscribe(office.client.topics.status("counter", client_id),
                                 lambda t, payload: statuses.append(json.loads(payload)))
    try:
        issue(office, 2)
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "antre", "counter", "--config", str(office.config_path),
                                     "--keyboard", "loket-1"],
                                    stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        wait_for(lambda: statuses and statuses[-1]["online"], what="the counter's presence")
        assert statuses[-1]["component"] == "counter" and statuses[-1]["counters"] == ["loket-1"]

        proc.stdin.write(b"+\n")                     # one key per line: next
        proc.stdin.flush()
        wait_for(lambda: office.client.events_of("ticket_called"), what="a ticket to be called")
        called = office.client.events_of("ticket_called")[0]
        assert (called["number"], called["counter"]["id"]) == ("A-001", "loket-1")

        proc.stdin.write(b"\n")                     # an empty line is Enter: done
        proc.stdin.flush()
        wait_for(lambda: office.client.events_of("ticket_completed"), what="the ticket to be completed")
        assert office.client.events_of("ticket_completed")[0]["number"] == "A-001"
        wait_for(lambda: "loket-1: done -> completed A-001" in log_path.read_text(), what="the done to be logged")
        proc.stdin.write(b"next\n")                 # action names work too
        proc.stdin.flush()
        wait_for(lambda: len(office.client.events_of("ticket_called")) == 2, what="the second call")
        if end == "eof":
            proc.stdin.close()                       # end of input: finish and exit
        else:
            proc.terminate()                         # as the demo and systemd stop it, input still open
        wait_for(lambda: proc.poll() is not None, what="the counter to exit")
        assert proc.returncode == 0, log_path.read_text()
        # The key reader never holds stdin's lock at shutdown ("Fatal Python error: _enter_buffered_busy").
        assert "Fatal Python error" not in log_path.read_text()
        wait_for(lambda: not statuses[-1]["online"], what="the offline presence")
        text = log_path.read_text()
        assert "loket-1: next -> called A-001" in text
        assert "loket-1: done -> completed A-001" in text
        assert "loket-1: next -> called A-002" in text
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        office.client.stop()
        office.service.stop()


# --------------------------------------------------------------------------- small pure parts

def test_keymap_defaults_and_overrides():
    assert keymap({}) == {"+": "next", "*": "recall", "-": "skip", "enter": "done", "/": "pause", ".": "transfer"}
    m = keymap({"next": "0", "transfer": ""})
    assert m["0"] == "next" and "+" not in m and "." not in m and m["enter"] == "done"
    assert keymap({"done": "Enter"})["enter"] == "done"
    assert set(DEFAULT_KEYS) == {"next", "recall", "skip", "done", "pause", "transfer"}


@pytest.mark.parametrize("keys, message", [
    ({"nxet": "+"}, "did you mean 'next'"),
    ({"recall": "+"}, "used for both"),
    ({"next": "plus"}, "is not a key"),
])
def test_keymap_rejects_mistakes(keys, message):
    with pytest.raises(ConfigError, match=message):
        keymap(keys)


def test_debouncer_takes_the_first_edge_of_a_burst():
    now = [0.0]
    d = Debouncer(0.05, clock=lambda: now[0])
    edges = [(0.000, True), (0.002, False), (0.004, True), (0.010, False), (0.012, True),   # bouncy press
             (0.300, False), (0.302, True), (0.304, False),                                 # bouncy release
             (0.500, True), (0.600, False)]                                                 # a clean press
    accepted = []
    for t, pressed in edges:
        now[0] = t
        if d.edge(pressed):
            accepted.append(t)
    assert accepted == [0.0, 0.5]


def test_evdev_key_names():
    from evdev import ecodes

    names = {k: evdev_key_name(getattr(ecodes, k)) for k in
             ("KEY_KPPLUS", "KEY_KPASTERISK", "KEY_KPMINUS", "KEY_KPENTER", "KEY_KPSLASH", "KEY_KPDOT",
              "KEY_KP7", "KEY_7", "KEY_ENTER", "KEY_A", "KEY_F5", "KEY_LEFTSHIFT")}
    assert names == {"KEY_KPPLUS": "+", "KEY_KPASTERISK": "*", "KEY_KPMINUS": "-", "KEY_KPENTER": "enter",
                     "KEY_KPSLASH": "/", "KEY_KPDOT": ".", "KEY_KP7": "7", "KEY_7": "7", "KEY_ENTER": "enter",
                     "KEY_A": "a", "KEY_F5": "f5", "KEY_LEFTSHIFT": None}
    assert {keymap({}).get(n) for n in ("+", "*", "-", "enter", "/", ".")} == set(DEFAULT_KEYS)


def test_a_missing_keypad_is_retried_until_stopped(tmp_path, caplog):
    caplog.set_level("WARNING", logger="antre_counter.keys")
    keypad = EvdevKeys(lambda name: None, str(tmp_path / "no-such-keypad"), retry=0.05)
    keypad.start()
    wait_for(lambda: "unavailable" in caplog.text, what="the warning")
    assert keypad.thread.is_alive()
    keypad.stop()
    keypad.thread.join(5)
    assert not keypad.thread.is_alive()
    assert caplog.text.count("unavailable") == 1      # warned once, not every retry


def test_pipe_reads_one_key_per_line():
    keys: list[str] = []
    ended = []
    board = KeyboardCounter("loket-1", keymap({}), keys.append)
    s = StreamKeys(board.key, io.BytesIO(b"+\n*\r\n\n  -  \nrecall\n++\n/"), on_end=lambda: ended.append(1))
    s.start()
    s.thread.join(5)
    assert keys == ["next", "recall", "done", "skip", "recall", "pause"] and ended == [1]


def test_wiring_mistakes_are_config_errors():
    cfg = config.load_defaults()
    twice = cfg.replace(counter=CounterAppConfig(gpio=[GpioCounterConfig(counter="loket-1", next=17),
                                                       GpioCounterConfig(counter="loket-2", next=17)]))
    with pytest.raises(ConfigError, match="GPIO17 is wired twice"):
        check(twice)
    bad_service = cfg.replace(counter=CounterAppConfig(
        keyboard=[KeyboardCounterConfig(counter="loket-1", transfer_service="surta")]))
    with pytest.raises(ConfigError, match="transfer_service 'surta'"):
        check(bad_service)
    with pytest.raises(ConfigError, match="unknown counter"):
        check(cfg, keyboard="loket-9")
    with pytest.raises(ConfigError, match="--keyboard loket-1"):
        CounterApp(cfg)
    check(cfg.replace(counter=CounterAppConfig(gpio=[GpioCounterConfig(counter="loket-1", next=17)],
                                               keyboard=[KeyboardCounterConfig(counter="loket-2")])))


def test_typed_digits_make_a_number_for_next_and_recall():
    presses: list[tuple] = []
    now = [0.0]
    board = KeyboardCounter("loket-1", keymap({}), lambda action, number=None: presses.append((action, number)),
                            clock=lambda: now[0])
    for key in ["1", "2", "+"]:                       # 12 then next: call number 12
        board.key(key)
    for key in ["7", "backspace", "5", "*"]:          # 5 then recall: call back number 5
        board.key(key)
    for key in ["3", "-"]:                            # a number before no-show: forgotten
        board.key(key)
    board.key("9")
    now[0] = 20.0                                     # too long ago: forgotten
    board.key("+")
    for key in ["4", "esc", "+"]:
        board.key(key)
    assert presses == [("next", "12"), ("recall", "5"), ("skip", None), ("next", None), ("next", None)]


def test_a_keypad_calls_a_typed_number_and_brings_back_a_no_show(office):
    """The two counter actions staff asked for (issue 16, finding 14), from a keypad's digits."""
    from antre_counter.logic import CounterDesk

    issue(office, 3)
    client = office.new_client("counter-typed")
    desk = CounterDesk("loket-1", client.requester, timeout=5.0)
    desk.set_connected(True)
    desk.set_service_online(True)
    desk.update_state(office.client.wait_state(lambda s: s["services"][0]["waiting"] == 3))
    board = KeyboardCounter("loket-1", keymap({}), desk.press)
    for key in ["3", "+"]:                             # A-003, out of turn
        board.key(key)
    assert desk.wait_idle(10) and desk.outcomes[-1].ok, desk.outcomes[-1]
    assert desk.outcomes[-1].text == "called A-003"
    board.key("-")                                     # no-show
    assert desk.wait_idle(10) and desk.outcomes[-1].text == "skipped A-003"
    for key in ["3", "*"]:                             # the late resident: called back
        board.key(key)
    assert desk.wait_idle(10) and desk.outcomes[-1].text == "called back A-003", desk.outcomes[-1]
    office.client.wait_state(lambda s: s["counters"][0]["serving"] and s["counters"][0]["serving"]["number"] == "A-003")
    for key in ["9", "+"]:                             # not waiting: the error signal, nothing called
        board.key(key)
    assert desk.wait_idle(10) and desk.outcomes[-1].code == "ticket_not_waiting"
    client.stop()
