"""Device health, read from the retained presence messages (``{base}/status/{client_id}``).

Every component publishes its presence; the queue service adds its storage and clock, the kiosk
its printer, the counter device the counters it drives (docs/protocol.md, "Presence"). This module
turns those messages into what a person must know, in Indonesian: one :class:`DeviceHealth` per
device, each ``ok``, ``warning`` (needs attention today) or ``problem`` (needs someone now). The
staff page lists them; the TV shows a discreet marker while any is not ``ok``. Pure: no network.

>>> rows = assess({"kiosk-1": {"online": True, "component": "kiosk", "printer": "paper_out",
...                            "printer_message": "Kertas printer habis."}})
>>> rows[0].level, rows[0].text
('problem', 'Kertas printer habis.')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OK, WARNING, PROBLEM = "ok", "warning", "problem"
#: Components that have a health of their own, in the order staff read them.
NAMES = {"service": "Server antrean", "kiosk": "Kios", "counter": "Tombol loket", "display": "Layar TV",
         "web": "Situs web"}
_PRINTER_PROBLEMS = {"offline": "Printer tidak tersambung.", "paper_out": "Kertas printer habis.",
                     "error": "Printer bermasalah."}


@dataclass(frozen=True)
class DeviceHealth:
    """One device as staff see it: ``level`` ``ok`` | ``warning`` | ``problem`` and one sentence."""

    client_id: str
    component: str
    name: str            # "Kios", "Tombol loket Loket 1, Loket 2", ...
    online: bool
    level: str
    text: str            # Indonesian; what is wrong, or what is fine ("Aktif", "Printer siap")
    details: tuple[tuple[str, str], ...] = ()   # (label, value) pairs shown to staff, e.g. free space

    @property
    def needs_person(self) -> bool:
        return self.level != OK


def assess(statuses: dict[str, dict[str, Any]]) -> list[DeviceHealth]:
    """Health of every device that ever published its presence, the service first, then by kind and id."""
    rows = [_one(cid, s) for cid, s in statuses.items()
            if isinstance(s, dict) and isinstance(s.get("component"), str) and s["component"] in NAMES]
    order = list(NAMES)
    return sorted(rows, key=lambda r: (order.index(r.component), r.client_id))


def attention(statuses: dict[str, dict[str, Any]]) -> list[DeviceHealth]:
    """The devices that need a person (problems first)."""
    rows = [r for r in assess(statuses) if r.needs_person]
    return sorted(rows, key=lambda r: r.level != PROBLEM)


def _one(client_id: str, s: dict[str, Any]) -> DeviceHealth:
    component = str(s["component"])
    name = NAMES[component]
    counters = s.get("counters") if isinstance(s.get("counters"), list) else []
    if component == "counter" and counters:
        name = f"{name} {', '.join(_counter_name(c) for c in counters)}"
    online = bool(s.get("online"))

    def row(level: str, text: str, details=()) -> DeviceHealth:
        return DeviceHealth(client_id, component, name, online, level, text, tuple(details))

    if not online:
        level = WARNING if component == "web" else PROBLEM
        return row(level, "Tidak aktif: periksa listrik dan jaringan perangkat ini." if component != "service"
                   else "Server antrean mati: tidak ada nomor yang bisa diambil atau dipanggil.")
    if component == "service":
        return _service(s, row)
    if component == "kiosk":
        printer = s.get("printer") if isinstance(s.get("printer"), str) else None
        message = str(s.get("printer_message") or "")
        if printer in _PRINTER_PROBLEMS:
            return row(PROBLEM, message or _PRINTER_PROBLEMS[printer])
        if printer == "paper_near_end":
            return row(WARNING, message or "Kertas printer hampir habis.")
        if printer == "disabled":
            return row(OK, "Aktif (tanpa printer)")
        return row(OK, "Aktif, printer siap")
    return row(OK, "Aktif")


def _service(s: dict[str, Any], row) -> DeviceHealth:
    details = []
    free = s.get("storage_free_mb")
    if isinstance(free, (int, float)) and not isinstance(free, bool):
        details.append(("Ruang kosong", _size(free)))
    if s.get("business_date"):
        details.append(("Hari kerja", str(s["business_date"])))
    problems, warnings = [], []
    if s.get("clock") == "wrong":
        problems.append(str(s.get("clock_message") or "Jam Pi salah."))
    storage = s.get("storage")
    if storage in ("full", "read_only"):
        problems.append(str(s.get("storage_message") or "Penyimpanan bermasalah."))
    elif storage == "low":
        warnings.append(str(s.get("storage_message") or "Penyimpanan hampir penuh."))
    if s.get("sms") == "trouble":   # the office works; residents' SMS wait (kept, sent once it can)
        warnings.append(str(s.get("sms_message") or "SMS tertunda."))
    if problems:
        return row(PROBLEM, " ".join(problems + warnings), details)
    if warnings:
        return row(WARNING, " ".join(warnings), details)
    return row(OK, "Aktif, penyimpanan dan jam baik", details)


def _size(mb: float) -> str:
    """``75758`` -> ``74,0 GB``; ``2.04`` -> ``2,0 MB`` (Indonesian decimal comma)."""
    text = f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"
    return text.replace(".", ",")


def _counter_name(counter_id: Any) -> str:
    """``loket-2`` -> ``Loket 2`` (the configured names are in the state; this is for the presence alone)."""
    text = str(counter_id).replace("-", " ").replace("_", " ")
    return text[:1].upper() + text[1:]


__all__ = ["DeviceHealth", "assess", "attention", "OK", "WARNING", "PROBLEM", "NAMES"]
