"""A resident who did not come: the TV marks the skipped ticket "Tidak hadir" in its last calls (and in
the big panel while it is the newest call), from the retained state, at 1920x1080 and 1280x720."""

from __future__ import annotations

import pytest
from PIL import Image

from antre_display.board import BoardModel
from tests.test_display_app import T0, Board, _call, _state, display_config


def test_a_skipped_call_is_marked_in_the_model():
    m = BoardModel(recent_calls=3)
    calls = [_call("A-003", "loket-1", T0) | {"no_show": True}, _call("A-002", "loket-2", T0),
             _call("A-001", "loket-1", T0) | {"no_show": True}]
    m.apply_state(_state(last_calls=calls))
    assert (m.now_calling().number, m.now_calling().no_show) == ("A-003", True)
    assert [(c.number, c.no_show) for c in m.recent_calls()] == [("A-002", False), ("A-001", True)]
    # Anything but true is not a mark (a state from an older service has no such field).
    m.apply_state(_state(seq=2, last_calls=[_call("A-001", "loket-1", T0) | {"no_show": "yes"}]))
    assert m.now_calling().no_show is False


def _no_show_pixels(png, box) -> int:
    """Pixels of the "Tidak hadir" colour (1.0, 0.55, 0.50) inside ``box`` of the screenshot."""
    img = Image.open(png).convert("RGB").crop(box)
    return sum(1 for r, g, b in img.getdata() if r > 220 and 110 < g < 170 and 100 < b < 160)


@pytest.mark.gui
@pytest.mark.parametrize("size", ["1920x1080", "1280x720"])
def test_the_tv_marks_a_skipped_ticket_tidak_hadir(office, xvfb, tmp_path, size):
    c = office.client
    cfg, _ = display_config(office.config_path, tmp_path)
    for service in ("adminduk", "adminduk", "adminduk", "surat"):
        c.ok("issue_ticket", service=service)
    c.ok("call_next", counter="loket-1")
    c.ok("skip", counter="loket-1")               # ... did not come
    c.ok("call_next", counter="loket-3")          # B-001
    c.ok("call_next", counter="loket-1")
    state = c.wait_state(lambda s: len(s["last_calls"]) == 3)
    assert [(x["number"], x["no_show"]) for x in state["last_calls"]] == \
        [("A-002", False), ("B-001", False), ("A-001", True)]

    board = Board(tmp_path, cfg, xvfb, size).start()
    try:
        ui = board.wait(lambda ui: ui["now"].get("number") == "A-002" and len(ui["last_calls"]) == 2,
                        "A-002 called and two earlier calls")
        assert ui["last_calls"] == [{"number": "B-001", "counter_name": "Loket 3", "no_show": False},
                                    {"number": "A-001", "counter_name": "Loket 1", "no_show": True}]
        shot = board.screenshot(f"display-no-show-{size}")
        w, h = board.width, board.height
        # The mark is drawn, in its own colour, in the right half (the last calls' panel), nowhere else.
        assert _no_show_pixels(shot, (w // 2, h // 2, w, h)) > 50, shot
        assert _no_show_pixels(shot, (0, 0, w // 2, h)) == 0, shot
        # A-002 is skipped too: the big panel says so instead of sending anyone to the counter.
        c.ok("skip", counter="loket-1")
        ui = board.wait(lambda ui: ui["now"].get("no_show") is True, "the newest call marked tidak hadir")
        assert ui["now"]["number"] == "A-002"
        board.screenshot(f"display-no-show-now-{size}")
        # The next call is an ordinary one again.
        c.ok("call_next", counter="loket-1")
        ui = board.wait(lambda ui: ui["now"].get("number") == "A-003", "the call of A-003")
        assert ui["now"]["no_show"] is False
        assert [(x["number"], x["no_show"]) for x in ui["last_calls"]] == \
            [("A-002", True), ("B-001", False), ("A-001", True)]
    finally:
        board.stop()
