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
