"""Dead devices: a real ``antre counter`` process killed (SIGKILL) or stopped (SIGTERM).

The TV board (``antre_display.board.BoardModel``, fed by a real MQTT subscription) must mark the counter
its device drove as offline, both a board that was watching when the device died and one that
starts afterwards and only reads the retained messages (the last will).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest

from antre.link.protocol import read_presence
from antre_display.board import BoardModel
from tests.conftest import start_office
from tests.faults.conftest import COUNTERS, SERVICES
from tests.support import ROOT, TestClient, wait_for

pytestmark = pytest.mark.timeout(120)


class Board:
    """A TV board's model fed from the broker, as ``antre display`` feeds it (minus Kivy)."""

    def __init__(self, office):
        self.model = BoardModel()
        self.lock = threading.Lock()
        self.client = TestClient(office.broker.url, office.office_id, component="display")
        topics = self.client.topics
        self.client.link.subscribe(topics.state, lambda t, p: self._feed(self.model.apply_state, p))
        self.client.link.subscribe(topics.statuses, self._presence)
        self.client.start()

    def _presence(self, topic, payload):
        # As antre display does: trusted by its topic (antre.link.protocol.read_presence).
        presence = read_presence(self.client.topics, topic, payload)
        if presence is not None:
            self._feed(self.model.apply_status, presence[1], presence[2] or b"")

    def _feed(self, fn, *args):
        with self.lock:
            fn(*args)

    def status(self, counter: str) -> str | None:
        with self.lock:
            return next((c.status for c in self.model.counters() if c.id == counter), None)

    def stop(self):
        self.client.stop()


def counter_app(office, counter: str, log):
    return subprocess.Popen([sys.executable, "-m", "antre", "counter", "--config", str(office.config_path),
                             "--keyboard", counter], cwd=ROOT, stdin=subprocess.PIPE, stdout=log,
                            stderr=subprocess.STDOUT)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_a_dead_counter_is_offline_on_the_tv(tmp_path, broker, how):
    office = start_office(tmp_path, broker, services=SERVICES, counters=COUNTERS)
    board = Board(office)
    log = open(tmp_path / "counter.log", "ab")
    app = counter_app(office, "loket-2", log)
    try:
        office.client.ok("issue_ticket", service="adminduk")
        wait_for(lambda: board.status("loket-2") == "idle" and any(
            s.get("component") == "counter" and s.get("online") for s in board.model.statuses.values()),
            60, "the counter app online and loket-2 'Siap' on the board:\n" + (tmp_path / "counter.log").read_text())
        app.stdin.write(b"+\n")
        app.stdin.flush()
        wait_for(lambda: board.status("loket-2") == "serving", what="loket-2 serving after its key press")

        app.send_signal(how)
        app.wait(30)
        if how == signal.SIGTERM:
            assert app.returncode == 0, "a stopped counter exits cleanly:\n" + (tmp_path / "counter.log").read_text()
        # The board that watched the device die.
        wait_for(lambda: board.status("loket-2") == "offline", what="loket-2 offline on the watching board")
        assert board.status("loket-1") == "idle", "a counter no device drives is not marked offline"
        # A board started afterwards reads only the retained state and the retained last will.
        late = Board(office)
        try:
            wait_for(lambda: late.status("loket-2") == "offline", what="loket-2 offline on a board started later")
            assert late.status("loket-1") == "idle"
        finally:
            late.stop()
        print(f"\n{how.name}: counter process exit {app.returncode}; board shows loket-2 offline "
              f"(watching and late board)")
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        log.close()
        board.stop()
        office.client.stop()
        office.service.stop()
