"""Announcement slides on the TV between calls (display/slides.py, display/app.py).

Without a window: a call holds the slides until its hold time is over and the voice is idle, a picture shows
only with the item its hash names, a withdrawn item's picture is forgotten. With the real board under Xvfb,
against mosquitto and ``antre serve``: a slide with its picture sits exactly over the previous calls panel
(never over the now-calling number or the counters); a call that arrives mid-slide takes the slide away in the
same step and its announcement goes to the audio player; after the hold the slides come back; a withdrawn
item leaves the TV. Screenshots at 1920x1080 and 1280x720 (``ANTRE_SHOTS_DIR`` collects them).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from antre import config
from antre.rules.news import picture_folder
from antre_display.slides import SlideShow
from tests.support import wait_for
from tests.test_display_app import Board, announced, display_config
from tests.test_letters import sign_in_staff
from tests.test_news_devices import photo_bytes, write_picture


def _doc(items, on=True, seconds=5):
    return json.dumps({"slides": {"on": on, "seconds": seconds}, "items": items}).encode()


def test_a_call_holds_the_slides_and_pictures_must_match():
    show = SlideShow()
    jpeg = b"\xff\xd8 a picture"
    digest = hashlib.sha256(jpeg).hexdigest()[:16]
    assert show.apply_news(_doc([{"id": 1, "kind": "pengumuman", "title": "Posyandu", "text": "Rabu",
                                  "picture": digest},
                                 {"id": 2, "kind": "berita", "title": "Jalan", "text": "", "picture": None}]))
    show.apply_picture(1, b"\xff\xd8 an older picture")
    assert show.current(0.0).id == 1 and show.current(0.0).picture is None      # hash differs: not shown
    show.apply_picture(1, jpeg)
    assert show.current(1.0).picture == jpeg
    assert show.current(5.0).id == 2 and show.current(9.9).id == 2 and show.current(10.0).id == 1
    show.hold(20.0)                                  # a call at 12.0 held for 8 s
    assert show.current(12.0) is None and show.current(19.9) is None
    assert show.current(20.0, busy=True) is None     # the voice is still speaking
    assert show.current(21.0).id == 1                # then the slides resume
    show.apply_news(_doc([{"id": 2, "kind": "berita", "title": "Jalan", "text": "", "picture": None}]))
    assert show.current(22.0).id == 2 and 1 not in show._pictures                # withdrawn: forgotten
    assert show.apply_news(_doc([], on=True)) and show.current(23.0) is None
    show.apply_news(_doc([{"id": 3, "kind": "berita", "title": "A", "text": "", "picture": None}], on=False))
    assert show.current(24.0) is None               # the office turned slides off
    for junk in (b"", b"not json", b"[1,2]", b'{"items": [{"id": true, "title": "x"}, {"id": 4}]}'):
        show.apply_news(junk)
        assert show.items == [] and show.current(25.0) is None
    show.apply_news(_doc([{"id": 5, "kind": "x", "title": "T" * 500, "text": "t" * 5000}], seconds=9999))
    assert len(show.items[0]["title"]) == 120 and len(show.items[0]["text"]) == 600 and show.seconds == 60


def _no_overlap(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay


def _shots(paths):
    extra = os.environ.get("ANTRE_SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        for p in paths:
            shutil.copy(p, Path(extra) / p.name)


@pytest.mark.gui
def test_slides_between_calls_never_delay_or_cover_a_call(office, xvfb, tmp_path):
    c = office.client
    st = sign_in_staff(c.ok)
    cfg_path, played = display_config(office.config_path, tmp_path)
    folder = picture_folder(config.load(office.config_path))
    today = c.wait_state(lambda s: True)["business_date"]
    c.ok("news_slides", on=True, seconds=5, **st["kasi"])
    with_picture = c.ok("news_save", kind="pengumuman", title=("Posyandu balita dan lansia di balai desa " * 3)[:120],
                        body="Hari **Rabu** pukul 08.00.\n\n- bawa buku KIA\n- gratis\n\n" + "Keterangan panjang. " * 150,
                        publish_on=today, picture=write_picture(folder, photo_bytes()), **st["kasi"])
    plain = c.ok("news_save", kind="berita", title="Jalan Dusun Cikoneng selesai diaspal",
                 body="Terima kasih atas kesabaran warga.", publish_on=today, **st["kasi"])
    for service in ("adminduk", "adminduk", "surat"):
        c.ok("issue_ticket", service=service)
    shots = []
    for size in ("1920x1080", "1280x720"):
        board = Board(tmp_path, cfg_path, xvfb, size).start()
        try:
            ui = board.wait(lambda ui: ui["slide"] and ui["slide"]["id"] == with_picture["id"] and ui["slide"]["picture"],
                            "the slide with its picture")
            r = ui["rects"]
            assert r["slide"] == r["calls_panel"], r
            assert _no_overlap(r["slide"], r["now"]) and _no_overlap(r["slide"], r["counters_panel"]), r
            assert ui["slide"]["title"].startswith("Posyandu balita")
            assert size != "1920x1080" or ("• bawa buku KIA" in ui["slide"]["text"] and len(ui["slide"]["text"]) <= 600 and ui["slide"]["text"].endswith("…"))
            shots.append(board.screenshot(f"slide-{size}"))
            before = len(announced(played))
            number = c.ok("call_next", counter="loket-1")["number"]       # mid-slide
            ui = board.wait(lambda ui: ui["calls"] and ui["calls"][-1]["number"] == number, f"the call of {number}")
            call = ui["calls"][-1]
            # The slide was up when the call came, and went in the same step the call was shown and handed to
            # the voice: the call never waits for a slide.
            assert call["slide_before"] is not None and call["slide_after"] is None and call["announce_handed"]
            assert ui["slide"] is None and ui["now"]["number"] == number
            wait_for(lambda: len(announced(played)) == before + 1, what=f"{number} to be announced")
            assert announced(played)[-1] == number
            shots.append(board.screenshot(f"slide-call-{size}"))
            board.wait(lambda ui: ui["slide"] is not None and not ui["flashing"], "the slides after the hold")
            if size == "1920x1080":
                board.wait(lambda ui: ui["slide"]["id"] == plain["id"], "the slide without a picture")
                shots.append(board.screenshot(f"slide-plain-{size}"))
                c.ok("news_withdraw", item=with_picture["id"], **st["kasi"])
                board.wait(lambda ui: ui["slides"]["items"] == 1, "the withdrawn item gone")
                board.wait(lambda ui: ui["slide"]["id"] == plain["id"], "only the other item")
                c.ok("news_slides", on=False, **st["kasi"])
                board.wait(lambda ui: ui["slide"] is None and not ui["slides"]["on"], "slides turned off")
                c.ok("news_slides", on=True, **st["kasi"])
                with_picture = c.ok("news_save", kind="pengumuman", title="Posyandu balita dan lansia",
                                    body="Hari Rabu pukul 08.00 di balai desa.", publish_on=today,
                                    picture=write_picture(folder, photo_bytes(color=(200, 60, 40))), **st["kasi"])
        finally:
            board.stop()
    _shots(shots)
