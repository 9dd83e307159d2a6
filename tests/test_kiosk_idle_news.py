"""The kiosk's idle screen: the village's announcements while nobody uses it (kiosk/flows/idle_news.py).

Without a window: when it may show (only from the start screen after the idle timeout; never during a flow,
a command on its way, an outage or a closed office, nor on a rating-only kiosk). With the real kiosk under
Xvfb against mosquitto and ``antre serve``: the announcements appear by themselves (picture, huge text cut to
fit), a touch exactly where a service button is returns to the start screen and issues no ticket, a withdrawn
item leaves, no items means no idle screen; a closed office keeps its start screen. Screenshots at 1280x800
and 800x480 (``ANTRE_SHOTS_DIR`` collects them).
"""

from __future__ import annotations

import pytest

from antre import config
from antre.rules.news import picture_folder
from antre_kiosk import logic
from antre_kiosk.flows.idle_news import IdleNews, may_show
from tests.test_kiosk_app import ONE_COUNTER, TWO_SERVICES, T, issued, kiosks, offices  # noqa: F401 (fixtures)
from tests.test_letters import sign_in_staff
from tests.test_news_devices import photo_bytes, write_picture


def test_when_the_idle_screen_may_show():
    base = dict(screen="home", home_screen="home", availability=logic.OK, busy=False, idle_for=61.0,
                idle_seconds=60.0, has_items=True, rating_mode=False)
    assert may_show(**base)
    assert not may_show(**base | {"idle_for": 59.0})                        # not idle long enough
    for screen in ("ticket", "rate_pick", "rate_face", "checkin", "pin", "info", "letterform", "message"):
        assert not may_show(**base | {"screen": screen}), screen            # a flow in progress
    assert not may_show(**base | {"busy": True})                            # a command on its way
    for availability in (logic.BROKER_DOWN, logic.SERVICE_OFFLINE, logic.CLOSED):
        assert not may_show(**base | {"availability": availability})       # the start screen's band matters
        assert not may_show(**base | {"screen": "news", "availability": availability})   # and ends it
    assert not may_show(**base | {"has_items": False}) and not may_show(**base | {"rating_mode": True})
    assert may_show(**base | {"screen": "news", "idle_for": 0.0})          # once shown, it stays until touched
    idle = IdleNews()
    idle.feed.apply_news(b'{"slides": {"on": false, "seconds": 5}, "items": [{"id": 1, "kind": "berita", '
                         b'"title": "A", "text": "", "picture": null}, {"id": 2, "title": "B"}]}')
    idle.start(100.0)
    assert idle.seconds == 8.0                 # the kiosk is read up close: 8 s at least, slides on or off
    assert [idle.current(t).id for t in (100.0, 107.9, 108.0, 116.0)] == [1, 1, 2, 1]


@pytest.mark.gui
@pytest.mark.parametrize("size", ["1280x800", "800x480"])
def test_announcements_when_idle_and_a_touch_only_goes_back(offices, kiosks, size):   # noqa: F811
    office = offices("idle_seconds = 3.0\nlate_tap_seconds = 1.0\n", services=TWO_SERVICES, counters=ONE_COUNTER)
    c = office.client
    st = sign_in_staff(c.ok)
    today = c.wait_state(lambda s: True)["business_date"]
    folder = picture_folder(config.load(office.config_path))
    first = c.ok("news_save", kind="pengumuman", title=("Posyandu balita dan lansia di balai desa " * 3)[:120],
                 body="Hari **Rabu** pukul 08.00.\n\n- bawa buku KIA\n- gratis\n\n" + "Keterangan panjang. " * 190,
                 publish_on=today, picture=write_picture(folder, photo_bytes()), **c_kasi(st))
    second = c.ok("news_save", kind="berita", title="Jalan Dusun Cikoneng selesai diaspal",
                  body="Terima kasih atas kesabaran warga.", publish_on=today, **c_kasi(st))
    k = kiosks(office, size=size)
    ui = k.wait(lambda ui: ui["screen"] == "news" and "news:picture" in ui["widgets"], "the announcements with a picture")
    assert ui["widgets"]["news:title"]["text"].startswith("Posyandu balita")
    assert ui["widgets"]["news:touch"]["text"] == T("news_touch")
    assert ui["lang"] == "id" and ui["widgets"]["news:kind"]["text"] == "Pengumuman"
    assert "• bawa buku KIA" in ui["widgets"]["news:text"]["text"]
    # The long text is cut where it stops fitting, and says so with "…" (whole words before it).
    ui = k.wait(lambda ui: ui["widgets"]["news:text"]["text"].endswith("…"), "the long text ended with …")
    assert ui["widgets"]["news:text"]["text"].rstrip("…").endswith(("Keterangan", "panjang"))
    win = ui["window"]
    for uid in ("news:title", "news:text", "news:picture", "news:touch"):
        w = ui["widgets"][uid]
        assert w["x"] >= 0 and w["y"] >= 0 and w["x"] + w["w"] <= win["width"] and w["y"] + w["h"] <= win["height"], uid
    k.screenshot(f"kiosk-news-{size}")
    k.wait(lambda ui: ui["screen"] == "news" and ui["widgets"]["news:title"]["text"].startswith("Jalan Dusun"),
           "the next announcement")
    ui = k.wait(lambda ui: ui["settled"] and ui["screen"] == "news", "the next announcement laid out")
    assert "news:picture" not in ui["widgets"] and ui["widgets"]["news:title"]["x"] < ui["window"]["width"] * 0.1
    k.screenshot(f"kiosk-news-plain-{size}")

    # A touch: the start screen. Then, idle again, a touch right where a service button is: back to the start
    # screen, and no ticket.
    k.click(*k.centre("news:title"))
    home = k.wait_widget("service:adminduk", screen="home")
    spot = k.centre("service:adminduk")
    k.wait(lambda ui: ui["screen"] == "news", "the announcements again")
    before = len(issued(office))
    k.click(*spot)
    ui = k.wait(lambda ui: ui["screen"] == "home" and ui["settled"], "the start screen after the touch")
    assert len(issued(office)) == before and ui["widgets"]["service:adminduk"] == home
    # Idle again: the announcements come back; a withdrawn item leaves them.
    k.wait(lambda ui: ui["screen"] == "news", "the announcements again")
    c.ok("news_withdraw", item=first["id"], **c_kasi(st))
    k.wait(lambda ui: ui["news"]["items"] == 1 and ui["widgets"].get("news:title", {}).get("text", "").startswith("Jalan"),
           "only the other item")
    c.ok("news_withdraw", item=second["id"], **c_kasi(st))
    ui = k.wait(lambda ui: ui["screen"] == "home" and ui["news"]["items"] == 0, "no items: the start screen")
    k.wait(lambda ui: ui["news"]["idle_past"], "idle with nothing to show")
    assert k.ui()["screen"] == "home"


def c_kasi(st):
    return st["kasi"]


@pytest.mark.gui
def test_a_closed_office_keeps_its_start_screen(offices, kiosks):   # noqa: F811
    closed = "[office.hours]\n" + "\n".join(f'{d} = "closed"' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    office = offices("idle_seconds = 2.0\n" + closed, enforce_hours=True, services=TWO_SERVICES, counters=ONE_COUNTER)
    c = office.client
    st = sign_in_staff(c.ok)
    c.ok("news_save", kind="pengumuman", title="Kantor tutup hari ini", body="Buka lagi besok.",
         publish_on=c.wait_state(lambda s: True)["business_date"], **st["kasi"])
    k = kiosks(office)
    k.wait(lambda ui: ui.get("availability") == "closed" and ui["news"]["items"] == 1
           and ui["news"]["idle_past"], "a closed office, idle, with news")
    assert k.ui()["screen"] == "home" and k.ui()["widgets"]["banner"]["text"] == T("closed_today")


@pytest.mark.gui
def test_the_idle_screen_is_not_spoken_and_offers_no_listen_or_language(offices, kiosks, tmp_path):   # noqa: F811
    """With [kiosk] speak_screens, the announcements are not read aloud to an empty room, and the idle screen
    shows no "Dengarkan" nor "English" (any touch there only goes back to the start screen)."""
    wav = tmp_path / "said.wav"
    office = offices(f'idle_seconds = 3.0\nlate_tap_seconds = 1.0\naudio_player = "cp {{}} {wav}"\n'
                     "speak_screens = true\n", services=TWO_SERVICES, counters=ONE_COUNTER)
    c = office.client
    st = sign_in_staff(c.ok)
    c.ok("news_save", kind="pengumuman", title="Posyandu hari Rabu", body="Di balai desa.",
         publish_on=c.wait_state(lambda s: True)["business_date"], **st["kasi"])
    k = kiosks(office)
    home = k.wait(lambda ui: ui["screen"] == "home" and "service:adminduk" in ui["widgets"], "the start screen")
    assert "listen" in home["widgets"] and "lang" in home["widgets"]
    ui = k.wait(lambda ui: ui["screen"] == "news" and ui["settled"], "the announcements")
    assert "listen" not in ui["widgets"] and "lang" not in ui["widgets"]
    k.screenshot("kiosk-news-no-listen")
    spoken = ui["speech"]["screens"].get("home", 0)
    k.click(*k.centre("news:title"))
    ui = k.wait(lambda ui: ui["screen"] == "home" and ui["speech"]["screens"].get("home", 0) == spoken + 1
                and ui["speech"]["done"] == ui["speech"]["asked"], "the start screen spoken on the way back")
    assert ui["speech"]["screens"].get("news", 0) == 0 and ui["speech"]["asked"] == spoken + 1
    assert "listen" in ui["widgets"] and "lang" in ui["widgets"]
