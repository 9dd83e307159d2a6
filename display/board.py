"""What the waiting-room board shows, worked out from what the broker says.

No Kivy here: :class:`BoardModel` takes the retained state, presence messages,
the ticker topic and ``ticket_called`` events, and answers plain questions
("which counters are offline?", "what is being called now?", "is the link
healthy, and how old is what we show?"). The Kivy app (:mod:`antre_display.app`) only
turns those answers into labels, so the rules are tested without a window.

Indonesian dates and clock times are formatted here too, without the system
locale (a Pi image rarely has ``id_ID`` generated)::

    >>> format_date(date(2026, 11, 30))
    'Senin, 30 November 2026'
    >>> format_clock(datetime(2026, 11, 30, 9, 5))
    '09.05'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from antre.link import health
from antre.link.presence import service_online
from antre.wording import clock_time as format_clock  # ``09.05``
from antre.wording import long_date as format_date  # ``Senin, 30 November 2026``

#: Component name of counter devices; their presence lists the counters they drive in ``counters``.
COUNTER_COMPONENT = "counter"


# --------------------------------------------------------------------------
# Formatting.
# --------------------------------------------------------------------------

def format_age(seconds: float) -> str:
    """How long ago, in words: ``baru saja``, ``40 detik lalu``, ``2 menit lalu``, ``1 jam lalu``, ``3 hari lalu``."""
    s = max(0, int(seconds))
    if s < 10:
        return "baru saja"
    if s < 60:
        return f"{s} detik lalu"
    if s < 3600:
        return f"{s // 60} menit lalu"
    if s < 86400:
        return f"{s // 3600} jam lalu"
    return f"{s // 86400} hari lalu"


def format_wait(minutes: int | float | None) -> str:
    """Estimated wait: ``± 25 menit``, ``± 1 jam 20 menit``; ``-`` when there is no estimate."""
    if not minutes or minutes <= 0:
        return "-"
    m = int(round(minutes))
    if m < 60:
        return f"± {m} menit"
    h, rest = divmod(m, 60)
    return f"± {h} jam" + (f" {rest} menit" if rest else "")


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from the protocol (``2026-11-30T02:41:07+00:00``) as an aware datetime, or None."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------
# What is shown.
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class CallView:
    """One call: ticket number to counter, at a time (aware UTC)."""
    number: str
    counter: str
    counter_name: str
    at: datetime | None
    recall: bool = False
    no_show: bool = False   # the ticket was skipped since: it did not come ("tidak hadir")


@dataclass(frozen=True)
class CounterView:
    """One counter's row. ``status``: ``serving``, ``idle``, ``paused`` or ``offline``."""
    id: str
    name: str
    number: str | None
    status: str

    @property
    def status_text(self) -> str:
        return {"serving": "Melayani", "idle": "Siap", "paused": "Istirahat", "offline": "Tidak aktif"}[self.status]


@dataclass(frozen=True)
class ServiceView:
    code: str
    name: str
    prefix: str
    waiting: int
    wait_text: str
    note: str = ""   # "Tutup hari ini", "Kuota habis"


class BoardModel:
    """Everything the board knows. Feed it messages; ask it what to show.

    Not thread-safe: call it from one thread (the Kivy main thread).
    """

    def __init__(self, ticker: str = "", recent_calls: int = 5, staff_alerts: bool = True):
        self.config_ticker = ticker.strip()
        self.staff_alerts = staff_alerts
        self.recent_limit = recent_calls
        self.state: dict[str, Any] | None = None
        self.statuses: dict[str, dict[str, Any]] = {}
        self._drives: dict[str, list[str]] = {}   # counter device client id -> the counters it said it drives
        self.topic_ticker = ""
        self.connected = False
        self._event_call: CallView | None = None
        self._last_live: datetime | None = None
        self._seen_calls: list[tuple] = []

    # ------------------------------------------------------------------ input

    def apply_state(self, payload: bytes | dict) -> bool:
        """The retained ``{base}/state``. False (and ignored) when unreadable or older than what we have."""
        data = _json(payload)
        if not isinstance(data, dict) or not isinstance(data.get("counters"), list):
            return False
        if self.state is not None and isinstance(data.get("seq"), int) and isinstance(self.state.get("seq"), int):
            # A lower seq can only be a stale copy, unless the service's database was reset (then time moves on).
            if data["seq"] < self.state["seq"] and (parse_time(data.get("time")) or _EPOCH) <= \
                    (parse_time(self.state.get("time")) or _EPOCH):
                return False
        self.state = data
        return True

    def apply_status(self, client_id: str, payload: bytes | dict) -> None:
        """A retained ``{base}/status/{role}/{client_id}`` presence message (empty payload: forgotten).

        Pass what :func:`antre.link.protocol.read_presence` returns, so ``component`` is the topic's role.
        """
        data = _json(payload)
        if isinstance(data, dict):
            self.statuses[client_id] = data
            if data.get("component") == COUNTER_COMPONENT and isinstance(data.get("counters"), list):
                self._drives[client_id] = [str(c) for c in data["counters"]]
        else:
            self.statuses.pop(client_id, None)

    def apply_ticker(self, payload: bytes | dict) -> None:
        """The retained ``{base}/ticker`` ``{"text": "..."}``; an empty payload or text clears it."""
        data = _json(payload)
        text = data.get("text") if isinstance(data, dict) else None
        self.topic_ticker = " ".join(text.split()) if isinstance(text, str) else ""

    def apply_call(self, payload: bytes | dict) -> CallView | None:
        """A ``ticket_called`` event. Returns the call to show (and announce), or None when unreadable
        or a duplicate delivery of one already seen."""
        data = _json(payload)
        if not isinstance(data, dict) or not isinstance(data.get("number"), str):
            return None
        counter = data.get("counter") if isinstance(data.get("counter"), dict) else {}
        call = CallView(number=data["number"], counter=str(counter.get("id", "")),
                        counter_name=str(counter.get("name") or counter.get("id") or ""),
                        at=parse_time(data.get("time")), recall=bool(data.get("recall")))
        key = (call.number, call.counter, call.at, call.recall)
        if key in self._seen_calls:
            return None
        self._seen_calls = (self._seen_calls + [key])[-20:]
        self._event_call = call
        return call

    def set_connected(self, connected: bool, now: datetime) -> None:
        if self.healthy:
            self._last_live = now
        self.connected = connected

    def tick(self, now: datetime) -> None:
        """Call every second or so: while healthy, what is shown is current as of ``now``."""
        if self.healthy:
            self._last_live = now

    # ------------------------------------------------------------------ output

    @property
    def service_online(self) -> bool | None:
        """True/False from the service's presence; None when no service has said anything."""
        return service_online(self.statuses.values())

    @property
    def healthy(self) -> bool:
        """Connected to the broker, with a state, and the service not known to be offline."""
        return self.connected and self.state is not None and self.service_online is not False

    def banner(self, now: datetime) -> tuple[str, str] | None:
        """``("Menghubungkan...", detail)`` while not healthy, else None."""
        if self.healthy:
            return None
        title = "Menghubungkan..."
        if self.state is None:
            return title, "Menunggu data antrean dari server"
        since = self._last_live or parse_time(self.state.get("time"))
        why = "server antrean tidak terjangkau" if self.connected else "jaringan terputus"
        age = f"data terakhir {format_age((now - since).total_seconds())}" if since else "data terakhir"
        return title, f"{why} · {age}"

    def attention(self) -> list[health.DeviceHealth]:
        """Devices that need a person (printer without paper, a counter device off, the server's disk...)."""
        return health.attention(self.statuses)

    def attention_text(self) -> str:
        """The TV's discreet marker for staff: '' when all is well (or ``[display] staff_alerts = false``), else
        ``Perlu petugas (2)``."""
        if not self.staff_alerts:
            return ""
        n = len(self.attention())
        return f"Perlu petugas ({n})" if n else ""

    @property
    def office_name(self) -> str:
        office = (self.state or {}).get("office") or {}
        return str(office.get("name") or "")

    def counters(self) -> list[CounterView]:
        out = []
        offline = self._offline_counters()
        for c in (self.state or {}).get("counters") or []:
            if not isinstance(c, dict):
                continue
            serving = c.get("serving") if isinstance(c.get("serving"), dict) else None
            status = c.get("status") if c.get("status") in ("serving", "idle", "paused") else "idle"
            if c.get("id") in offline:
                status = "offline"
            out.append(CounterView(id=str(c.get("id", "")), name=str(c.get("name") or c.get("id") or ""),
                                   number=serving.get("number") if serving else None, status=status))
        return out

    def _offline_counters(self) -> set[str]:
        """Counters whose every known device says offline. A counter no device mentions is never offline.

        A device's offline message may not list its counters (a last will from an older version): then
        the counters it listed while online count, whatever the offline message contains."""
        online: dict[str, bool] = {}
        for client_id, s in self.statuses.items():
            if s.get("component") != COUNTER_COMPONENT:
                continue
            listed = s.get("counters") if isinstance(s.get("counters"), list) else self._drives.get(client_id, [])
            for cid in listed:
                online[str(cid)] = online.get(str(cid), False) or bool(s.get("online"))
        return {cid for cid, up in online.items() if not up}

    def services(self) -> list[ServiceView]:
        out = []
        for s in (self.state or {}).get("services") or []:
            if not isinstance(s, dict):
                continue
            waiting = int(s.get("waiting") or 0)
            note = ""
            if s.get("active") is False:
                note = "Tutup hari ini"
            elif s.get("quota_reached"):
                note = "Kuota habis"
            out.append(ServiceView(code=str(s.get("code", "")), name=str(s.get("short_name") or s.get("name") or s.get("code") or ""),
                                   prefix=str(s.get("prefix") or ""), waiting=waiting,
                                   wait_text=format_wait(s.get("estimated_wait_minutes")) if waiting else "-",
                                   note=note))
        return out

    def _state_calls(self) -> list[CallView]:
        calls = []
        for c in (self.state or {}).get("last_calls") or []:
            if isinstance(c, dict) and isinstance(c.get("number"), str):
                calls.append(CallView(number=c["number"], counter=str(c.get("counter") or ""),
                                      counter_name=str(c.get("counter_name") or c.get("counter") or ""),
                                      at=parse_time(c.get("at")), recall=bool(c.get("recall")),
                                      no_show=c.get("no_show") is True))
        return calls

    def now_calling(self) -> CallView | None:
        """The latest call: from the last event until a state at least as new arrives, then the state's
        (which already includes that call; and after a day rollover, has no calls left)."""
        calls = self._state_calls()
        latest = calls[0] if calls else None
        ev = self._event_call
        state_time = parse_time((self.state or {}).get("time"))
        if ev is not None and (state_time is None or (ev.at or _EPOCH) > state_time):
            return ev
        return latest

    def recent_calls(self) -> list[CallView]:
        """Earlier calls, newest first, one line per ticket (a recall does not repeat it), without the
        one in the "now calling" panel."""
        current = self.now_calling()
        seen = {(current.number, current.counter)} if current else set()
        out = []
        for c in self._state_calls():
            if (c.number, c.counter) in seen:
                continue
            seen.add((c.number, c.counter))
            out.append(c)
            if len(out) >= self.recent_limit:
                break
        return out

    def ticker_text(self) -> str:
        """The staff's message from ``{base}/ticker`` (if any), then the configured text."""
        parts = [p for p in (self.topic_ticker, self.config_ticker) if p]
        return "     •     ".join(parts)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _json(payload: bytes | dict | None) -> Any:
    if isinstance(payload, dict):
        return payload
    if not payload:
        return None
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
