"""Village information (kabar desa), the rules in process on a real SQLite file with a manual clock: only the
kasi writes, items appear on their publishing date and disappear after their expiry date or when withdrawn,
bad input is refused with a clear code, every change is in the audit log; and the body's markup rendered by
the website is safe (scripts, event handlers and javascript: links come out as text or not at all)."""

from __future__ import annotations

import sqlite3

from tests.test_letters import rules_office, sign_in_again
from antre_web.news import render_body


def test_publish_expire_withdraw_roles_and_audit(tmp_path):
    q, clock, run, error, st = rules_office(tmp_path)   # Monday 7 December 2026
    item = dict(kind="pengumuman", title="Posyandu  balita", body="Rabu pukul 08.00 di balai desa.",
                publish_on="2026-12-07", expires_on="2026-12-09", ticker=True)
    assert error("news_save", **item, **st["petugas"]) == "forbidden"
    assert error("news_save", **item, **st["admin"]) == "forbidden"
    assert error("news_save", **(item | {"title": " \n "}), **st["kasi"]) == "empty_text"
    assert error("news_save", **(item | {"body": "x" * 4001}), **st["kasi"]) == "text_too_long"
    assert error("news_save", **(item | {"expires_on": "2026-12-06"}), **st["kasi"]) == "invalid_dates"
    assert error("news_save", **(item | {"kind": "gosip"}), **st["kasi"]) == "invalid_argument"
    a = run("news_save", **item, **st["kasi"])
    assert a["title"] == "Posyandu balita" and a["ticker"]
    b = run("news_save", kind="berita", title="Jalan desa diaspal", body="Mulai pekan depan.", publish_on="2026-12-10",
            **st["kasi"])
    pub = run("news_public")
    assert [i["id"] for i in pub["items"]] == [a["id"]] and pub["ticker"] == "Posyandu balita"
    assert {i["state"] for i in run("news_list", **st["kasi"])["items"]} == {"published", "scheduled"}
    clock.advance(days=3)                      # Thursday the 10th: the announcement expired, the news is out
    st = sign_in_again(run)
    assert [i["id"] for i in run("news_public")["items"]] == [b["id"]] and run("news_public")["ticker"] == ""
    assert error("news_public", item=a["id"]) == "news_not_found"
    run("news_save", item=b["id"], kind="berita", title="Jalan desa diaspal (diubah)", body="Mulai hari ini.",
        publish_on="2026-12-10", **st["kasi"])
    assert run("news_public", item=b["id"])["items"][0]["title"].endswith("(diubah)")
    run("news_withdraw", item=b["id"], **st["kasi"])
    assert run("news_public")["items"] == [] and error("news_save", item=b["id"], **item, **st["kasi"]) == "news_not_found"
    db = sqlite3.connect(tmp_path / "a.db")
    actions = [r for r in db.execute("SELECT actor, action, subject FROM audit_log WHERE action LIKE 'news.%'")]
    db.close()
    assert actions == [("bu-kasi", "news.save", f"news {a['id']}"), ("bu-kasi", "news.save", f"news {b['id']}"),
                       ("bu-kasi", "news.save", f"news {b['id']}"), ("bu-kasi", "news.withdraw", f"news {b['id']}")]


def test_the_body_markup_is_limited_and_safe():
    html = str(render_body("Halo *warga*\n\n- satu\n- **dua**\n\n[info](https://desa.id) [x](javascript:alert(1)) "
                           "<script>alert(1)</script><img src=x onerror=alert(1)> [d](data:text/html,hi)"))
    assert "<em>warga</em>" in html and "<li><strong>dua</strong></li>" in html
    assert '<a rel="nofollow noopener" href="https://desa.id">info</a>' in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html and 'href="data' not in html
    assert "&lt;script&gt;" in html


def test_the_public_list_is_paged_by_the_service_so_every_item_is_reachable(tmp_path):
    """35 published items: news_public answered the newest 30 only; with ``offset`` and ``limit`` every one is
    on a page, ``total`` counts them all, and out-of-range pages are refused as bad arguments."""
    q, clock, run, error, st = rules_office(tmp_path)   # Monday 7 December 2026
    ids = [run("news_save", kind="berita", title=f"Kabar {n}", body="Isi.", publish_on="2026-12-07", **st["kasi"])["id"]
           for n in range(35)]
    run("news_save", kind="berita", title="Besok", body="Isi.", publish_on="2026-12-08", **st["kasi"])   # not yet
    assert len(run("news_public")["items"]) == 30 and run("news_public")["total"] == 35
    pages = [run("news_public", excerpt=20, offset=o, limit=10) for o in (0, 10, 20, 30)]
    assert [len(p["items"]) for p in pages] == [10, 10, 10, 5] and {p["total"] for p in pages} == {35}
    assert [i["id"] for p in pages for i in p["items"]] == ids[::-1]             # each once, newest first
    assert run("news_public", offset=35, limit=10)["items"] == []
    # The device contract refuses pages out of range (the website's own login sends them).
    import json

    import pytest

    from antre.errors import CommandError
    from antre.link.protocol import Topics, parse_request

    topics = Topics("desa")
    topic = topics.command("news_public", "web", "web-1")
    assert parse_request(topic, json.dumps({"request_id": "a", "offset": 30, "limit": 10, "excerpt": 160}).encode(),
                         topics, 65536).args == {"offset": 30, "limit": 10, "excerpt": 160}
    for bad in ({"offset": -1}, {"limit": 0}, {"limit": 31}, {"offset": "5"}, {"limit": True}, {"offset": 10**6},
                {"picture": "../antre.db"}, {"picture": "A" * 64 + ".jpg"}):
        with pytest.raises(CommandError) as refused:
            parse_request(topic, json.dumps({"request_id": "a"} | bad).encode(), topics, 65536)
        assert refused.value.code == "invalid_argument", bad


def test_a_cut_text_ends_on_a_whole_word_never_in_a_time_or_number():
    """An excerpt (the portal's /kabar, the TV, the kiosk) is cut after a whole word: "pukul 07.0…" read as
    a wrong time, "saluran a…" as another word."""
    from antre.rules.news import plain_text

    body = "Gotong royong membersihkan saluran air di setiap RT, dimulai pukul 07.00. Bawa cangkul sendiri."
    for limit in range(20, len(body)):
        cut = plain_text(body, limit)
        assert len(cut) <= limit and cut.endswith("…"), (limit, cut)
        kept = cut[:-1].rstrip()
        assert body.startswith(kept) and body[len(kept)] in " ,.;:", (limit, cut)   # whole words only
        assert not kept.endswith((",", ".", ";", ":")), (limit, cut)
    assert plain_text(body, 72) == "Gotong royong membersihkan saluran air di setiap RT, dimulai pukul…"
    assert plain_text(body, len(body)) == body                                # fits: untouched
    one = "A" * 50                                                            # one long word: cut inside it
    assert plain_text(one, 20) == "A" * 19 + "…"
