"""The kiosk's QR/barcode reader: a USB 2D scanner that types like a keyboard (an HID keyboard wedge).

A scan arrives as key presses: the payload's characters in a fast burst, then Enter. :class:`ScanReader` tells a
scan from a person typing on a keyboard by the pace (40 ms a character or faster on average, a few characters
at least, Enter at the end); anything else is dropped. :func:`read_code` turns a payload into what it names, or
None. It accepts only what the office itself prints or publishes:

- a printed ticket's QR: the office's status page ``{public_url}/status/<date>/<number>`` or, without a public
  website, ``ANTRE|<office>|<date>|<number>[|<rating code>]`` of *this* office;
- a letter's verification QR ``{public_url}/surat/cek/<token>``, a slip's ``/surat/status/<code>`` or
  ``/pengaduan/<code>``, the portal's ``/cek?nomor=`` and ``/lacak?kode=``;
- a question's ``/tanya/<code>``;
- a bare code (a slip's QR without a website, a barcode, or a code typed on a keyboard wedge): a complaint's
  ``P``-code, a question's ``T``-code, a letter's 12 digits, a booking's 10 digits (each with its check digit) or a queue number.

URLs of any other site, payloads with control characters or other than printable ASCII, and anything longer than :data:`MAX_PAYLOAD` are
refused: a scanner is a keyboard anyone can hold a printed code to. What is found is looked up live
(:class:`LookupFlow`) and shown like the portal's ``/cek``; a booking's code offers its check-in and a ready
letter its pickup ticket. No payload is ever logged (codes are residents' keys).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from antre.link.mqtt import Reply
from antre.link.protocol import BOOKING_CODE_DIGITS, booking_code_ok
from antre.rules.booking_code import format_booking_code
from antre.rules.complaint_codes import clean_complaint_code, complaint_code_ok, format_complaint_code
from antre.rules.letter_codes import clean_tracking_code, format_tracking_code, tracking_code_ok
from antre.rules.question_codes import clean_question_code, format_question_code
from antre.wording import clock_time, day_month_year, long_date

from .. import logic, texts

log = logging.getLogger(__name__)

#: The longest payload read; a longer burst is dropped whole (a status URL is well under 200 characters).
MAX_PAYLOAD = 512
#: A scanner types a character every few milliseconds; a person takes a tenth of a second or more (seconds,
#: on average over the burst).
MAX_GAP = 0.04
#: A pause this long (seconds) ends what was typed before it.
MAX_PAUSE = 1.0
MIN_LENGTH = 4

TICKET, BOOKING, LETTER, COMPLAINT, LETTER_CHECK = "ticket", "booking", "letter", "complaint", "letter_check"
QUESTION = "question"    # a question left for the staff (T-12345-67890), read at /tanya/<code>
_NUMBER = re.compile(r"([A-Za-z])-?(\d{1,6})")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Scanned:
    """What a payload names: ``kind`` (:data:`TICKET` ...), its ``code`` (a ticket's number ``A-012``, the
    digits of a booking or letter, a complaint's ``P...``, a letter's verification token) and, for a ticket of
    another day, its ``day``."""
    kind: str
    code: str
    day: str | None = None


class ScanReader:
    """Key presses in, scans out: :meth:`char` for each character typed, :meth:`enter` for Enter (which returns
    the payload when the presses were a scanner's burst). Times are seconds (``time.monotonic()``).

    A scan: at least ``min_length`` characters at ``max_gap`` seconds a character or faster on average, and
    Enter at once after the last. The average, not each gap, decides: a scanner's burst that the computer
    receives with a hiccup in the middle is still a scan, while a person (a tenth of a second a key or slower,
    even a fast typist) is not. A pause longer than ``max_pause`` starts afresh (a stray key earlier is no part
    of the next scan)."""

    def __init__(self, max_gap: float = MAX_GAP, min_length: int = MIN_LENGTH, max_length: int = MAX_PAYLOAD,
                 max_pause: float = MAX_PAUSE):
        self.max_gap, self.min_length, self.max_length, self.max_pause = max_gap, min_length, max_length, max_pause
        self._buf: list[str] = []
        self._first = self._last = 0.0
        self._overflow = False

    def char(self, text: str, now: float) -> None:
        if (self._buf or self._overflow) and now - self._last > self.max_pause:
            self.reset()
        if not self._buf and not self._overflow:
            self._first = now
        self._last = now
        if self._overflow:
            return
        self._buf.append(text)
        if sum(map(len, self._buf)) > self.max_length:
            self._overflow, self._buf = True, []

    def enter(self, now: float) -> str | None:
        """Enter pressed: the scan's payload, or None (typed by hand, too short, too long, or nothing)."""
        payload = "".join(self._buf)
        n, first, last, overflow = len(payload), self._first, self._last, self._overflow
        self.reset()
        if overflow or n < self.min_length or now - last > self.max_pause:
            return None
        if (last - first) / (n - 1) > self.max_gap:
            return None           # a person's pace
        return payload

    def reset(self) -> None:
        self._buf, self._overflow = [], False


def read_code(payload: str, *, office_id: str, public_url: str = "", width: int = 3) -> Scanned | None:
    """What ``payload`` (a scan, or a code typed in) names, or None when it is nothing of this office's.
    ``width``: the digits of the office's queue numbers (``A12`` is ``A-012`` with 3)."""
    if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD:
        return None
    text = payload.strip(" \t\r\n")          # a scanner's suffix (Tab, CR, LF) is not part of the code
    if not text or not all(" " <= c <= "~" for c in text):
        return None                             # control characters, or anything but printable ASCII
    if text.startswith("ANTRE|"):
        parts = text.split("|")
        if len(parts) not in (4, 5) or parts[1] != office_id or not _DATE.fullmatch(parts[2]):
            return None
        return _ticket(parts[3], parts[2], width)
    if "://" in text:
        return _from_url(text, public_url, width)
    return _bare(text, width)


def _ticket(number: str, day: str | None = None, width: int = 3) -> Scanned | None:
    m = _NUMBER.fullmatch(number)
    if not m:
        return None
    if day is not None:
        try:
            date.fromisoformat(day)
        except ValueError:
            return None
    return Scanned(TICKET, f"{m[1].upper()}-{int(m[2]):0{width}d}", day)


def _bare(text: str, width: int = 3) -> Scanned | None:
    if len(text) > 40:
        return None
    complaint = clean_complaint_code(text)
    if complaint_code_ok(complaint):
        return Scanned(COMPLAINT, complaint)
    question = clean_question_code(text) if text[:1] in "Tt" else ""
    if question:
        return Scanned(QUESTION, question)
    digits = clean_tracking_code(text)
    if digits.isascii() and digits.isdigit():
        if tracking_code_ok(digits):
            return Scanned(LETTER, digits)
        if len(digits) == BOOKING_CODE_DIGITS and booking_code_ok(digits):
            return Scanned(BOOKING, digits)
        return None
    return _ticket("".join(text.split()), width=width)


def _from_url(text: str, public_url: str, width: int = 3) -> Scanned | None:
    """A URL of this office's public website only (same scheme-less host and port, under its path)."""
    if not public_url:
        return None
    try:
        url, home = urlsplit(text), urlsplit(public_url)
        port, home_port = url.port, home.port
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or url.username or url.password:
        return None
    if (url.hostname or "").lower() != (home.hostname or "").lower() or port != home_port:
        return None
    prefix = home.path.rstrip("/")
    path = unquote(url.path)
    if prefix and not (path == prefix or path.startswith(prefix + "/")):
        return None
    parts = [p for p in path[len(prefix):].split("/") if p]
    query = parse_qs(url.query, max_num_fields=5) if url.query else {}
    match parts:
        case ["status", day, number] if _DATE.fullmatch(day):
            return _ticket(number, day, width)
        case ["pengaduan", code]:
            return Scanned(COMPLAINT, code) if complaint_code_ok(code) else None
        case ["surat", "status", code]:
            return Scanned(LETTER, code) if tracking_code_ok(code) else None
        case ["tanya", code] if clean_question_code(code) == code:
            return Scanned(QUESTION, code)
        case ["surat", "cek", token]:
            return Scanned(LETTER_CHECK, token) if _TOKEN.fullmatch(token) else None
        case ["cek"] if query.get("nomor"):
            return _bare(query["nomor"][0], width)
        case ["lacak"] if query.get("kode"):
            return _bare(query["kode"][0], width)
    return None


# ---------------------------------------------------------------------- the live status

TEXTS: dict[str, tuple[str, str]] = {
    "scan_ticket": ("Nomor antrean {number}", "Queue number {number}"),
    "scan_waiting": ("Menunggu. {ahead} orang di depan Anda, perkiraan {minutes} menit.",
                     "Waiting. {ahead} people ahead of you, about {minutes} minutes."),
    "scan_waiting_no_estimate": ("Menunggu. {ahead} orang di depan Anda.", "Waiting. {ahead} people ahead of you."),
    "scan_waiting_next": ("Menunggu. Anda berikutnya.", "Waiting. You are next."),
    "scan_called": ("Dipanggil! Silakan ke {counter}.", "Called! Please go to {counter}."),
    "scan_done": ("Sudah dilayani. Terima kasih.", "Served. Thank you."),
    "scan_no_show": ("Tidak hadir saat dipanggil. Silakan tanya petugas.",
                     "Missed when called. Please ask the staff."),
    "scan_expired": ("Nomor ini sudah tidak berlaku.", "This number is no longer valid."),
    "scan_other_day": ("Nomor ini untuk hari lain ({day}).", "This number is for another day ({day})."),
    "scan_booking": ("Kode janji temu {code}", "Booking code {code}"),
    "scan_booking_body": ("Sentuh tombol hijau untuk mencetak nomor antrean Anda.",
                          "Touch the green button to print your queue number."),
    "scan_booking_action": ("Cetak nomor antrean", "Print my number"),
    # A scanned booking: its service, day and time slot as booking_status answers them (never a name or phone).
    "scan_booking_when": ("{service}\n{day}, pukul {slot}", "{service}\n{day}, at {slot}"),
    "scan_booking_window": ("Nomor antrean bisa dicetak pukul {start} sampai {end}.",
                            "The queue number can be printed from {start} to {end}."),
    "scan_booking_other_day": ("Janji temu ini bukan untuk hari ini. Silakan datang pada harinya.",
                               "This booking is not for today. Please come on its day."),
    "scan_booking_checked_in": ("Sudah dicetak. Nomor antrean Anda {number}.",
                                "Already printed. Your queue number is {number}."),
    "scan_booking_cancelled": ("Janji temu ini sudah dibatalkan.", "This booking was cancelled."),
    "scan_booking_expired": ("Waktu janji temu ini sudah lewat. Silakan ambil nomor antrean biasa.",
                             "This booking's time has passed. Please take an ordinary queue number."),
    "scan_letter": ("Surat {code}", "Letter {code}"),
    "scan_letter_belum_lengkap": ("Berkas belum lengkap. Silakan tanya petugas.",
                                  "Documents missing. Please ask the staff."),
    "scan_letter_diperiksa": ("Sedang diperiksa petugas.", "Being checked by the staff."),
    "scan_letter_menunggu_ttd": ("Menunggu tanda tangan.", "Waiting for the signature."),
    "scan_letter_siap_diambil": ("Surat siap diambil.", "The letter is ready."),
    "scan_letter_sudah_diambil": ("Surat sudah diambil.", "The letter was collected."),
    "scan_letter_dibatalkan": ("Permohonan dibatalkan.", "The request was cancelled."),
    "scan_letter_action": ("Ambil nomor untuk mengambil surat", "Take a number to collect it"),
    "scan_letter_reason": ("Keterangan petugas: {reason}", "The staff's note: {reason}"),
    "scan_complaint": ("Laporan {code}", "Report {code}"),
    "scan_complaint_diterima": ("Diterima. Menunggu diperiksa petugas.", "Received. Waiting to be checked."),
    "scan_complaint_diverifikasi": ("Sudah diperiksa petugas.", "Checked by the staff."),
    "scan_complaint_diproses": ("Sedang ditindaklanjuti.", "Being handled."),
    "scan_complaint_selesai": ("Selesai. Jawaban petugas:", "Done. The staff's answer:"),
    "scan_complaint_ditolak": ("Ditolak.", "Refused."),
    "scan_complaint_bukan_wewenang": ("Bukan wewenang desa.", "Not the village's matter."),
    "scan_check": ("Pemeriksaan surat", "Letter check"),
    "scan_check_valid": ("Surat ini asli dan berlaku.", "This letter is genuine and valid."),
    "scan_check_expired": ("Surat ini asli, tetapi masa berlakunya habis.", "This letter is genuine but expired."),
    "scan_check_revoked": ("Surat ini sudah dicabut. Jangan dipakai.", "This letter was revoked. Do not use it."),
    "scan_question": ("Pertanyaan {code}", "Question {code}"),
    "scan_question_open": ("Belum dijawab. Petugas akan menjawab.", "Not answered yet. The staff will answer."),
    "scan_question_answered": ("Sudah dijawab petugas:", "Answered by the staff:"),
    "scan_question_dismissed": ("Pertanyaan ini ditutup petugas. Silakan tanya di loket.",
                                "The staff closed this question. Please ask at the counter."),
    "scan_not_found": ("Kode tidak ditemukan.", "Code not found."),
    "scan_not_found_body": ("Periksa kertasnya, atau tanyakan di loket.", "Check the slip, or ask at the counter."),
    "scan_unknown": ("Kode ini tidak dikenal", "This code is not known here"),
    "scan_unknown_body": ("Pindai tiket, tanda terima atau surat dari kantor desa ini.",
                          "Scan a ticket, a receipt or a letter of this village office."),
    "scan_failed": ("Status belum bisa dilihat", "The status cannot be shown now"),
}
texts.TEXTS.update(TEXTS)

#: The command that looks each kind up.
COMMANDS = {TICKET: "ticket_status", LETTER: "letter_status", COMPLAINT: "complaint_status",
            LETTER_CHECK: "letter_verify", QUESTION: "question_status", BOOKING: "booking_status"}


@dataclass(frozen=True)
class StatusView:
    """What the status screen shows: a title, the status (large), more lines, and the one thing to do next
    (``action``: ``check_in`` or ``letter_pickup``, with the code; None: only *Kembali*)."""
    title: str
    status: str
    body: str = ""
    action: str | None = None
    action_key: str = ""
    code: str = ""


class LookupFlow:
    """Looks a :class:`Scanned` item up live and words its status."""

    def __init__(self, gate: logic.CommandGate):
        self.gate = gate

    def look_up(self, item: Scanned, on_reply: Callable[[Reply], None]) -> str | None:
        """Sends the item's read-only command (None: a command in flight)."""
        command = COMMANDS.get(item.kind)
        if command is None:
            return None
        args: dict[str, Any] = {"token": item.code} if item.kind == LETTER_CHECK else (
            {"number": item.code} if item.kind == TICKET else {"code": item.code})
        if item.kind == TICKET and item.day:
            args["date"] = item.day
        rid = self.gate.send(command, args, on_reply)
        if rid is not None:
            log.info("%s %s for a scanned code", command, rid)   # never the code
        return rid

    @staticmethod
    def view(item: Scanned, reply: Reply, lang: str, *, can_pick_up: bool = True,
             today: str | None = None, names: dict[str, str] | None = None) -> StatusView:
        """The status screen for ``item`` (``reply``: the lookup's; ``today``: the office's business day,
        ISO, from its retained state: a booking of another day offers no check-in; ``names``: the services'
        and letter types' names by code in the resident's language, as the kiosk shows them: the replies
        name them in Indonesian only)."""
        names = names or {}
        t = lambda key, **v: texts.text(key, lang, **v)  # noqa: E731
        if not reply.ok:
            if (reply.code or "").endswith("not_found"):
                return StatusView(t("scan_not_found"), t("scan_not_found_body"))
            return StatusView(t("scan_failed"), t(texts.error_key(reply.code)))
        r = reply.result or {}
        if item.kind == BOOKING:
            return _booking_view(item, r, lang, today, names)
        if item.kind == TICKET:
            title = t("scan_ticket", number=item.code)
            if r.get("today") is False:
                return StatusView(title, t("scan_other_day", day=_date_words(r.get("business_date") or item.day,
                                                                              lang, long_date)))
            state = r.get("state")
            if state == "waiting":
                ahead = int(r.get("ahead") or 0)
                minutes = int(r.get("estimated_wait_minutes") or 0)
                # No estimate yet (nobody served today): the people ahead only, no "0 minutes".
                status = t("scan_waiting_next") if not ahead else \
                    t("scan_waiting", ahead=ahead, minutes=minutes) if minutes > 0 else \
                    t("scan_waiting_no_estimate", ahead=ahead)
            elif state == "called":
                counter = r.get("counter") or {}
                status = t("scan_called", counter=counter.get("name") or counter.get("id") or "")
            else:
                status = t(f"scan_{state}") if f"scan_{state}" in texts.TEXTS else str(state)
            return StatusView(title, status, names.get(r.get("service") or "") or r.get("service_name", ""))
        if item.kind == LETTER:
            status = r.get("status", "")
            ready = status == "siap_diambil" and can_pick_up
            # The letter's type, and the staff's reason when it waits for documents or was cancelled (what
            # the resident must bring or know; the website's status page shows the same).
            reason = r.get("reason") if status in ("belum_lengkap", "dibatalkan") else ""
            body = "\n".join(x for x in (names.get(f"letter:{r.get('type') or ''}") or r.get("type_name") or "",
                                          t("scan_letter_reason", reason=reason[:200]) if reason else "") if x)
            return StatusView(t("scan_letter", code=format_tracking_code(item.code)),
                              t(f"scan_letter_{status}") if f"scan_letter_{status}" in texts.TEXTS else status,
                              body, action="letter_pickup" if ready else None,
                              action_key="scan_letter_action" if ready else "", code=item.code)
        if item.kind == COMPLAINT:
            status = r.get("status", "")
            words = t(f"scan_complaint_{status}") if f"scan_complaint_{status}" in texts.TEXTS else status
            replies = [m.get("text", "") for m in r.get("thread") or [] if m.get("kind") == "reply"]
            body = (replies[-1][:300] if replies else "") if status in ("selesai", "diproses") else ""
            if status in ("ditolak", "bukan_wewenang"):
                body = " ".join(x for x in (r.get("reason") or "", r.get("refer_to") or "") if x)[:300]
            # Which report it is: its kind and topic (never the resident's own words or contact).
            category, topic = r.get("category") or "", r.get("topic") or ""
            about = " \u00b7 ".join(x for x in (
                t(f"cb_cat_{category}") if f"cb_cat_{category}" in texts.TEXTS else category.capitalize(),
                topic.replace("_", " ").replace("-", " ").capitalize()) if x)
            return StatusView(t("scan_complaint", code=format_complaint_code(item.code)), words,
                              "\n".join(x for x in (about, body) if x))
        if item.kind == QUESTION:     # the staff's answer; never the resident's own question on this screen
            state = r.get("state", "")
            answer = r.get("answer") if state == "answered" and isinstance(r.get("answer"), str) else ""
            return StatusView(t("scan_question", code=format_question_code(item.code)),
                              t(f"scan_question_{state}") if f"scan_question_{state}" in texts.TEXTS else state,
                              answer[:300])
        validity = r.get("validity", "")
        signed = _date_words(r.get("signed_on"), lang, day_month_year)
        body = " \u2022 ".join(x for x in (r.get("type_name"), r.get("number"), signed) if x)
        return StatusView(t("scan_check"), t(f"scan_check_{validity}") if f"scan_check_{validity}" in texts.TEXTS
                          else validity, body)


def _booking_view(item: Scanned, r: dict[str, Any], lang: str, today: str | None,
                  names: dict[str, str]) -> StatusView:
    """A booking as ``booking_status`` answers it: the service, the day in words and the slot (08.30) under the
    code, what its state means, and the check-in button only for a booking of today still to be checked in."""
    t = lambda key, **v: texts.text(key, lang, **v)  # noqa: E731
    title = t("scan_booking", code=format_booking_code(item.code))
    day, slot = r.get("date"), r.get("slot")
    when = t("scan_booking_when", service=names.get(r.get("service") or "") or r.get("service_name")
             or r.get("service") or "",
             day=_date_words(day, lang, long_date), slot=_slot_words(slot, lang)) if day and slot else ""
    state = r.get("state")
    if state == "booked" and today is not None and day != today:
        return StatusView(title, t("scan_booking_other_day"), when)
    if state == "booked":
        window = t("scan_booking_window", start=_slot_words(r.get("checkin_from"), lang),
                   end=_slot_words(r.get("checkin_until"), lang)) if r.get("checkin_from") and r.get("checkin_until") else ""
        return StatusView(title, t("scan_booking_body"), "\n".join(x for x in (when, window) if x),
                          action="check_in", action_key="scan_booking_action", code=item.code)
    if state == "checked_in":
        number = (r.get("ticket") or {}).get("number") or ""
        return StatusView(title, t("scan_booking_checked_in", number=number), when)
    key = f"scan_booking_{state}"
    return StatusView(title, t(key) if key in texts.TEXTS else str(state or ""), when)


def _slot_words(slot: Any, lang: str) -> str:
    """A protocol time (``08:30``) as residents read it: ``08.30`` in both languages, as the kiosk's clock."""
    try:
        return clock_time(time.fromisoformat(slot), "id") if isinstance(slot, str) else ""
    except ValueError:
        return ""


def _date_words(iso: Any, lang: str, words: Callable[[date, str], str]) -> str:
    """A protocol date (``2026-12-06``) as residents read it (``Minggu, 6 Desember 2026``); "" if not a date."""
    try:
        return words(date.fromisoformat(iso), lang) if isinstance(iso, str) else ""
    except ValueError:
        return ""


__all__ = ["ScanReader", "Scanned", "read_code", "LookupFlow", "StatusView", "MAX_PAYLOAD", "MAX_GAP", "TICKET",
           "BOOKING", "LETTER", "COMPLAINT", "LETTER_CHECK", "QUESTION", "TEXTS"]
