"""antre.link.health: what staff are told from the presence messages (pure)."""

from __future__ import annotations

from antre.link.health import PROBLEM, WARNING, assess, attention


def presence(component: str, online: bool = True, **extra) -> dict:
    return {"online": online, "component": component, "protocol": "1", "time": 1.0} | extra


def test_all_well_then_each_kind_of_trouble():
    statuses = {
        "antre-service": presence("service", clock="ok", storage="ok", storage_free_mb=75758.2,
                                  business_date="2026-12-04"),
        "kiosk-1": presence("kiosk", printer="ok"),
        "counter-a": presence("counter", counters=["loket-1", "loket-2"]),
        "display-1": presence("display"),
        "test-1234": presence("admin"),          # not a device: not listed
    }
    rows = assess(statuses)
    assert [r.client_id for r in rows] == ["antre-service", "kiosk-1", "counter-a", "display-1"]
    assert attention(statuses) == []
    assert rows[0].details == (("Ruang kosong", "74,0 GB"), ("Hari kerja", "2026-12-04"))
    assert rows[2].name == "Tombol loket Loket 1, Loket 2"

    statuses["kiosk-1"] = presence("kiosk", printer="paper_near_end", printer_message="Kertas hampir habis.")
    statuses["counter-a"] = presence("counter", online=False)           # an old last will: no list
    statuses["antre-service"] |= {"storage": "low", "storage_free_mb": 2.04,
                                  "storage_message": "Penyimpanan hampir penuh (sisa 2 MB): ..."}
    need = attention(statuses)
    assert [(r.client_id, r.level) for r in need] == [("counter-a", PROBLEM), ("antre-service", WARNING),
                                                      ("kiosk-1", WARNING)]
    assert need[0].text.startswith("Tidak aktif")
    assert need[1].details[0] == ("Ruang kosong", "2,0 MB")

    statuses["antre-service"] |= {"clock": "wrong", "clock_message": "Jam Pi salah: jam menunjukkan ..."}
    service = assess(statuses)[0]
    assert service.level == PROBLEM and service.text.startswith("Jam Pi salah") and "hampir penuh" in service.text
    statuses["antre-service"] = presence("service", clock="ok", storage="ok", sms="trouble",
                                         sms_message="SMS tertunda: penyimpanan penuh, ...")
    service = assess(statuses)[0]   # the office works; residents' SMS wait: a warning, in the service's words
    assert service.level == WARNING and service.text == "SMS tertunda: penyimpanan penuh, ..."
    statuses["antre-service"] = presence("service", clock="ok", storage="ok", sms="ok", sms_message="")
    assert assess(statuses)[0].level not in (WARNING, PROBLEM)
    statuses["antre-service"] = presence("service", online=False)
    assert assess(statuses)[0].text.startswith("Server antrean mati")


def test_printer_states_and_hostile_presence():
    assert assess({"k": presence("kiosk", printer="paper_out")})[0].text == "Kertas printer habis."
    assert assess({"k": presence("kiosk", printer="disabled")})[0].level == "ok"
    # Junk from a misbehaving client never breaks the page.
    rows = assess({"a": "junk", "b": presence("counter", counters="loket-1"), "c": {"component": ["x"]},
                   "d": presence("service", storage_free_mb=True, clock="wrong", clock_message=None)})
    assert [r.client_id for r in rows] == ["d", "b"]
    assert rows[0].text == "Jam Pi salah." and rows[1].name == "Tombol loket"
    assert assess({"k": presence("kiosk", printer=["x"], printer_message=5)})[0].level == "ok"


def test_the_tv_marker_is_configurable():
    """[display] staff_alerts: the TV's discreet 'Perlu petugas (n)', or nothing on the TV at all."""
    from antre_display.board import BoardModel

    for shown, expected in ((True, "Perlu petugas (1)"), (False, "")):
        m = BoardModel(staff_alerts=shown)
        m.statuses = {"kiosk-1": presence("kiosk", printer="offline", printer_message="Printer tidak tersambung.")}
        assert m.attention_text() == expected
