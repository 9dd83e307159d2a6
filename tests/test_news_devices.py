"""News pictures and the devices' copy of the village's announcements.

In process (a real SQLite file, a manual clock): a picture name must be one the website wrote with its devices'
copy beside it; what the TV and the kiosk get (:meth:`NewsRules.devices`) is published, not expired, not
withdrawn, plain text cut short, a picture that fits one MQTT message; on a doubted clock the open day is held,
so nothing expires. Over a real mosquitto and ``antre serve``: the retained ``{base}/news`` document and
``{base}/news/picture/{id}`` JPEG appear, and a withdrawn item and its picture vanish from the broker.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from datetime import datetime, timezone

from PIL import Image

from antre.rules.news import DEVICE_PICTURE_BYTES, picture_folder, plain_text, variant
from antre_web.photos import PhotoRefused, clean_photo, fit_jpeg, store_photo
from tests.support import wait_for
from tests.test_letters import rules_office, sign_in_again, sign_in_staff


def photo_bytes(size=(2400, 1600), color=(30, 120, 200)) -> bytes:
    im = Image.new("RGB", size, color)
    for x in range(0, size[0], 40):        # some detail, so the JPEG is not trivially small
        im.paste((255, (x * 7) % 255, 40), (x, 0, x + 8, size[1]))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=95)
    return out.getvalue()


def write_picture(folder, raw: bytes) -> str:
    """What the website does (web/news.py): the cleaned picture and its two smaller copies."""
    cleaned = clean_photo(raw, 25 * 2**20)
    name = hashlib.sha256(cleaned).hexdigest() + ".jpg"
    store_photo(folder, fit_jpeg(cleaned, 480, 40_000), variant(name, "s"))
    store_photo(folder, fit_jpeg(cleaned, 800, DEVICE_PICTURE_BYTES), variant(name, "tv"))
    assert store_photo(folder, cleaned) == name
    return name


def test_copies_fit_their_limits_and_not_images_are_refused():
    cleaned = clean_photo(photo_bytes((4000, 3000)), 25 * 2**20)
    small, device = fit_jpeg(cleaned, 480, 40_000), fit_jpeg(cleaned, 800, DEVICE_PICTURE_BYTES)
    assert len(small) <= 40_000 and max(Image.open(io.BytesIO(small)).size) <= 480
    assert len(device) <= DEVICE_PICTURE_BYTES and max(Image.open(io.BytesIO(device)).size) <= 800
    noise = Image.frombytes("RGB", (1280, 1280), bytes(hashlib.sha256(str(i).encode()).digest()[0]
                                                        for i in range(1280 * 1280 * 3)))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=100)
    assert len(fit_jpeg(clean_photo(out.getvalue(), 25 * 2**20), 800, DEVICE_PICTURE_BYTES)) <= DEVICE_PICTURE_BYTES
    for junk in (b"<svg onload=alert(1)>", b"GIF89a" + b"\0" * 100, b"%PDF-1.4 hello", b""):
        try:
            clean_photo(junk, 2**20)
        except PhotoRefused as e:
            assert e.reason == "not_image"
        else:
            raise AssertionError(f"{junk[:10]!r} accepted as a picture")


def test_pictures_plain_text_expiry_and_a_doubted_clock(tmp_path):
    q, clock, run, error, st = rules_office(tmp_path, f'[news]\npicture_dir = "{tmp_path}/pics"\n')   # Monday 09.00 WIB
    folder = picture_folder(q.cfg)
    assert folder == tmp_path / "pics"
    item = dict(kind="pengumuman", title="Posyandu balita", body="Rabu **pukul 08.00** di [balai desa](https://x.id).\n\n"
                "- bawa buku KIA\n- gratis", publish_on="2026-12-07", expires_on="2026-12-08", **st["kasi"])
    assert error("news_save", **item, picture="../../etc/passwd") == "invalid_picture"
    assert error("news_save", **item, picture="a" * 64 + ".jpg") == "invalid_picture"   # not written by the website
    name = write_picture(folder, photo_bytes())
    a = run("news_save", **item, picture=name)
    assert a["picture"] == name
    huge = run("news_save", kind="berita", title="J" * 120, body="kata " * 799, publish_on="2026-12-07", **st["kasi"])
    rules = q.plugins["news"]
    with q.sessions() as s:
        doc, pictures = rules.devices(s, clock.now())
    assert [i["id"] for i in doc["items"]] == [huge["id"], a["id"]]
    shown = doc["items"][1]
    assert shown["text"] == "Rabu pukul 08.00 di balai desa.\n• bawa buku KIA\n• gratis"
    assert shown["picture"] == hashlib.sha256(pictures[a["id"]]).hexdigest()[:16]
    assert len(pictures[a["id"]]) <= DEVICE_PICTURE_BYTES and huge["id"] not in pictures
    assert len(doc["items"][0]["text"]) <= 600 and doc["items"][0]["text"].endswith("…")
    assert doc["slides"] == {"on": True, "seconds": 12}
    assert len(json.dumps(doc).encode()) < 60_000
    # The kasi's setting for the slides (audited), refused out of range and for other roles.
    assert error("news_slides", seconds=3, **st["kasi"]) == "invalid_argument"
    assert error("news_slides", on=False, **st["petugas"]) == "forbidden"
    assert run("news_slides", on=False, seconds=20, **st["kasi"]) == {"on": False, "seconds": 20}
    # The picture removed ("") and put back; absent keeps it.
    edit = {k: v for k, v in item.items()} | {"item": a["id"]}
    assert run("news_save", **edit)["picture"] == name
    assert run("news_save", **edit, picture="")["picture"] is None
    assert run("news_save", **edit, picture=name)["picture"] == name

    # Wednesday on a clock that jumped: the open day (Monday) is held, nothing expires.
    q.tick()
    q.clock_doubt = lambda: "the clock jumped"
    clock.set(datetime(2026, 12, 9, 2, 0, tzinfo=timezone.utc))
    q.tick()
    assert q.clock_warning
    with q.sessions() as s:
        doc, _ = rules.devices(s, clock.now())
    assert doc["business_date"] == "2026-12-07" and a["id"] in [i["id"] for i in doc["items"]]
    q.clock_doubt = lambda: None           # the clock is believed again: Wednesday, the item expired
    q.tick()
    with q.sessions() as s:
        doc, pictures = rules.devices(s, clock.now())
    assert doc["business_date"] == "2026-12-09" and [i["id"] for i in doc["items"]] == [huge["id"]] and not pictures


def test_withdrawn_items_pictures_leave_the_disk_at_a_new_day(tmp_path):
    q, clock, run, error, st = rules_office(tmp_path, f'[news]\npicture_dir = "{tmp_path}/pics"\n')
    folder = picture_folder(q.cfg)
    name = write_picture(folder, photo_bytes())
    item = dict(kind="pengumuman", body="Rabu.", publish_on="2026-12-07", picture=name)
    a = run("news_save", title="Satu", **item, **st["kasi"])
    b = run("news_save", title="Dua, gambar yang sama", **item, **st["kasi"])
    files = sorted(p.name for p in folder.iterdir())
    assert files == sorted([name, variant(name, "s"), variant(name, "tv")])
    run("news_withdraw", item=a["id"], **st["kasi"])
    q.tick()
    clock.advance(days=1)
    q.tick()                                            # a new day: b still shows the picture, it stays
    assert sorted(p.name for p in folder.iterdir()) == files
    st = sign_in_again(run)
    run("news_withdraw", item=b["id"], **st["kasi"])
    clock.advance(days=1)
    q.tick()
    assert list(folder.iterdir()) == []


def test_a_replaced_or_removed_picture_leaves_the_disk_at_a_new_day(tmp_path):
    """The kasi removes an item's picture ("Hapus gambar": it showed a resident, a KTP) or replaces it: the item
    stays published, so the withdrawn items' purge never saw the old picture and its three copies stayed on the
    disk for good. At the next business day they are deleted too -- unless another item still names it."""
    q, clock, run, error, st = rules_office(tmp_path, f'[news]\npicture_dir = "{tmp_path}/pics"\n')
    folder = picture_folder(q.cfg)
    old = write_picture(folder, photo_bytes())
    new = write_picture(folder, photo_bytes(color=(200, 40, 40)))
    shared = write_picture(folder, photo_bytes(color=(40, 200, 40)))
    item = dict(kind="pengumuman", body="Rabu.", publish_on="2026-12-07")
    a = run("news_save", title="Satu", picture=old, **item, **st["kasi"])
    b = run("news_save", title="Dua", picture=shared, **item, **st["kasi"])
    c = run("news_save", title="Tiga", picture=shared, **item, **st["kasi"])
    run("news_save", title="Satu", picture=new, item=a["id"], **item, **st["kasi"])      # replaced
    run("news_save", title="Dua", picture="", item=b["id"], **item, **st["kasi"])        # removed; c keeps it
    run("news_save", title="Tiga", item=c["id"], **item, **st["kasi"])                   # kept (no picture arg)
    q.tick()
    clock.advance(days=1)
    q.tick()
    copies = lambda name: sorted([name, variant(name, "s"), variant(name, "tv")])   # noqa: E731
    assert sorted(p.name for p in folder.iterdir()) == sorted(copies(new) + copies(shared))
    st = sign_in_again(run)
    run("news_save", title="Tiga", picture="", item=c["id"], **item, **st["kasi"])
    clock.advance(days=1)
    q.tick()
    assert sorted(p.name for p in folder.iterdir()) == copies(new)


def test_the_broker_holds_news_and_pictures_and_forgets_withdrawn_ones(tmp_path, broker):
    from tests.conftest import start_office
    office = start_office(tmp_path, broker)
    try:
        watcher = office.new_client()
        news, pictures, lock = [], {}, threading.Lock()

        def got_news(topic, payload):
            with lock:
                news.append(json.loads(payload) if payload else None)

        def got_picture(topic, payload):
            with lock:
                pictures[int(topic.rsplit("/", 1)[1])] = payload

        watcher.link.subscribe(watcher.topics.news, got_news)
        watcher.link.subscribe(watcher.topics.news_pictures, got_picture)
        st = sign_in_staff(office.client.ok)
        today = office.client.wait_state(lambda s: True)["business_date"]
        name = write_picture(tmp_path / "news-pictures", photo_bytes())
        a = office.client.ok("news_save", kind="pengumuman", title="Kerja bakti", body="Minggu pagi.", publish_on=today,
                             picture=name, **st["kasi"])
        wait_for(lambda: news and news[-1] and [i["id"] for i in news[-1]["items"]] == [a["id"]],
                 what="the news document with the item")
        wait_for(lambda: pictures.get(a["id"]), what="the item's picture")
        digest = news[-1]["items"][0]["picture"]
        assert hashlib.sha256(pictures[a["id"]]).hexdigest()[:16] == digest and pictures[a["id"]][:2] == b"\xff\xd8"
        assert news[-1]["protocol"] == "2" and news[-1]["slides"]["on"] is True
        # A device that starts later gets both from the broker at once (retained).
        late = office.new_client()
        got = {}
        late.link.subscribe(late.topics.news_picture(a["id"]), lambda t, p: got.setdefault("picture", p))
        late.link.subscribe(late.topics.news, lambda t, p: got.setdefault("news", json.loads(p)))
        wait_for(lambda: "picture" in got and "news" in got, what="the retained news and picture")
        late.stop()
        office.client.ok("news_withdraw", item=a["id"], **st["kasi"])
        wait_for(lambda: news[-1] and news[-1]["items"] == [], what="the withdrawn item gone from the document")
        wait_for(lambda: pictures.get(a["id"]) == b"", what="the withdrawn item's picture cleared")
        again = office.new_client()
        seen = []
        again.link.subscribe(again.topics.news_pictures, lambda t, p: seen.append(t))
        again.link.subscribe(again.topics.news, lambda t, p: seen.append(t))
        wait_for(lambda: again.topics.news in seen, what="the retained news document")
        assert again.topics.news_picture(a["id"]) not in seen    # the broker forgot the picture
        again.stop()
        # A picture left retained on the broker for an item the service does not publish (from before a
        # restart, or written by an admin tool) is cleared as soon as the service sees it.
        office.client.link.publish(office.client.topics.news_picture(999), b"\xff\xd8junk",
                                   retain=True).wait_for_publish(5)
        wait_for(lambda: pictures.get(999) == b"", what="the stray retained picture cleared by the service")
        watcher.stop()
    finally:
        office.client.stop()
        office.service.stop()


def test_long_news_still_fit_in_one_reply(tmp_path, broker):
    """news_public (the portal's /kabar, its pictures, the home page) answered up to 30 whole items and
    news_list (the kasi's console, also every expired item never withdrawn) up to 200, each text up to 4 000
    characters: about 16 long items went over the service's 64 512-byte reply limit, the portal lost its news
    and pictures and the console its list (nothing could be withdrawn any more). Both now answer the newest
    items that fit and say how many more there are. With the real ``antre serve``."""
    from antre.service.server import MAX_REPLY_BYTES
    from tests.conftest import start_office

    office = start_office(tmp_path, broker)
    try:
        kasi = sign_in_staff(office.client.ok)["kasi"]
        body = ("Gotong royong membersihkan saluran air di setiap RT. " * 75)[:3990]
        today = office.client.ok("news_list", **kasi)["today"]
        for i in range(25):
            office.client.ok("news_save", kind="pengumuman", title=f"Kerja bakti {i}", body=body, publish_on=today,
                             **kasi)
        for command, args in (("news_public", {}), ("news_list", kasi)):
            reply = office.client.request(command, **args)
            assert reply.ok, (command, reply.code)
            items = reply.result["items"]
            assert 0 < len(items) < 25 and reply.result["more"] == 25 - len(items)
            assert items[0]["title"] == "Kerja bakti 24"                      # the newest first
            assert len(json.dumps(reply.result, ensure_ascii=False).encode()) < MAX_REPLY_BYTES
    finally:
        office.client.stop()
        office.service.stop()
