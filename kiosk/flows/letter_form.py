"""Ajukan surat: a letter requested at the kiosk by a resident without a phone, one field at a time.

The form is the website's (``[[letters.types]]``), asked one question per screen with big keys: letters for
names and addresses, digits for the NIK, KK number and numbers, digits for dates (shown ``14-03-1990``), big
buttons for choices. Each answer is checked when the resident presses *Lanjut* with the service's own checks
(:mod:`antre.rules.letter_fields`), so the problem is said at once, in words; the NIK is checked against the date
of birth and sex at the end. The request goes to the service as ``letter_request`` (channel ``kiosk``) and a
slip with the tracking code is printed: the resident needs it to follow the request and to collect the letter
("Ambil surat"). What was typed is never logged and is forgotten when the flow is reset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from antre.config import LetterFieldConfig, LetterTypeConfig, OfficeConfig, validate_table
from antre.errors import ConfigError
from antre.link.mqtt import Reply
from antre.rules.letter_codes import format_tracking_code
from antre.rules.letter_fields import check_field, check_fields

from .. import logic, texts
from ..ticket import Block, receipt
from . import Message, sent_message

log = logging.getLogger(__name__)

LETTERS, DIGITS, CHOICE = logic.LETTERS, logic.DIGITS, logic.CHOICE
DATE = "date"
#: The letter keyboard's keys, row by row (``space`` and ``del`` are keys too).
KEYBOARD = ("1234567890", "QWERTYUIOP", "ASDFGHJKL-", "ZXCVBNM.,/")
_DIGIT_LIMIT = {"nik": 16, "kk": 16, "phone": 13}

TEXTS: dict[str, tuple[str, str]] = {
    "letter_request": ("Ajukan surat", "Request a letter"),
    "letter_request_sub": ("Untuk yang tidak punya HP", "For residents without a phone"),
    "lf_choose": ("Pilih surat yang Anda perlukan", "Choose the letter you need"),
    "lf_step": ("Langkah {n} dari {total}", "Step {n} of {total}"),
    "lf_next": ("Lanjut", "Next"),
    "lf_send": ("Kirim", "Send"),
    "lf_optional": ("Boleh dikosongkan", "May be left empty"),
    "lf_sent": ("Permohonan terkirim", "Request sent"),
    "lf_sent_body": ("Kode pelacakan Anda: {code}. Simpan kertas yang tercetak; tunjukkan di loket atau "
                     "pakai di kios (Ambil surat) saat surat siap.",
                     "Your tracking code: {code}. Keep the printed slip; show it at the counter or use it at the "
                     "kiosk (Collect a letter) when the letter is ready."),
    "lf_failed": ("Permohonan belum terkirim", "The request was not sent"),
    "lf_slip_title": ("TANDA TERIMA PERMOHONAN SURAT", "LETTER REQUEST RECEIPT"),
    "lf_slip_code": ("Kode pelacakan", "Tracking code"),
    "lf_slip_note": ("Simpan kertas ini. Surat siap: pilih 'Ambil surat' di kios dan ketik kode ini.",
                     "Keep this slip. When ready: choose 'Collect a letter' at the kiosk and type this code."),
    "lf_p_required": ("Wajib diisi.", "Required."),
    "lf_p_too_long": ("Terlalu panjang.", "Too long."),
    "lf_p_invalid": ("Isian tidak bisa dibaca. Ketik ulang.", "Cannot be read. Type it again."),
    "lf_p_name": ("Tulis nama dengan huruf saja, tanpa angka.", "Letters only, no digits."),
    "lf_p_nik_length": ("NIK harus 16 angka. Lihat KTP atau KK.", "A NIK is 16 digits. See the ID or family card."),
    "lf_p_nik_region": ("6 angka pertama NIK tidak dikenal. Periksa lagi.", "The NIK's region code is unknown."),
    "lf_p_nik_date": ("Angka tanggal lahir di NIK tidak mungkin. Periksa lagi.", "The NIK's birth date is impossible."),
    "lf_p_nik_serial": ("4 angka terakhir NIK tidak mungkin 0000.", "A NIK never ends in 0000."),
    "lf_p_kk_length": ("Nomor KK harus 16 angka.", "A family card number is 16 digits."),
    "lf_p_kk_region": ("6 angka pertama nomor KK tidak dikenal.", "The family card's region code is unknown."),
    "lf_p_kk_serial": ("4 angka terakhir nomor KK tidak mungkin 0000.", "A family card number never ends in 0000."),
    "lf_p_date": ("Tanggal tidak ada. Ketik 8 angka: tanggal, bulan, tahun.", "No such date. Type 8 digits: day, month, year."),
    "lf_p_future_date": ("Tanggal ini belum terjadi.", "This date is in the future."),
    "lf_p_choice": ("Pilih salah satu.", "Choose one."),
    "lf_p_phone": ("Nomor HP seperti 081234567890.", "A phone number such as 081234567890."),
    "lf_p_number": ("Angka saja.", "Digits only."),
    "lf_p_nik_birth_mismatch": ("Tanggal lahir tidak sama dengan yang di NIK.", "The date of birth differs from the NIK."),
    "lf_p_nik_sex_mismatch": ("Jenis kelamin tidak sama dengan yang di NIK.", "The sex differs from the NIK."),
}
texts.TEXTS.update(TEXTS)


def kind_of(f: LetterFieldConfig) -> str:
    if f.type == "choice":
        return CHOICE
    if f.type in ("date", "past_date"):
        return DATE
    if f.type in ("nik", "kk", "number", "phone"):
        return DIGITS
    return LETTERS


class LetterFormFlow:
    """One letter request typed at the kiosk: the chosen type, the current field, what was typed."""

    def __init__(self, gate: logic.CommandGate, types: list[LetterTypeConfig], today: Callable[[], date]):
        self.gate = gate
        self.types = [t for t in types if t.active]
        self.today = today
        self.reset()

    def set_types(self, types: list[LetterTypeConfig]) -> None:
        """The office's catalogue as last read (:class:`CatalogueReader`). A form being filled keeps its type."""
        self.types = [t for t in types if t.active]

    def reset(self) -> None:
        self.type: LetterTypeConfig | None = None
        self.index = 0
        self.values: dict[str, str] = {}
        self.typed = ""
        self.problem: str | None = None   # a text key (``lf_p_...``)

    def start(self, code: str) -> None:
        self.reset()
        self.type = next(t for t in self.types if t.code == code)
        self.typed = ""

    # ------------------------------------------------------------------ the current field

    @property
    def field(self) -> LetterFieldConfig:
        assert self.type is not None
        return self.type.fields[self.index]

    @property
    def kind(self) -> str:
        return kind_of(self.field)

    @property
    def step(self) -> tuple[int, int]:
        assert self.type is not None
        return self.index + 1, len(self.type.fields)

    @property
    def last(self) -> bool:
        assert self.type is not None
        return self.index == len(self.type.fields) - 1

    @property
    def limit(self) -> int:
        f = self.field
        if self.kind == DATE:
            return 8
        return _DIGIT_LIMIT.get(f.type, f.max_length)

    @property
    def shown(self) -> str:
        """What the screen shows: a date as ``14-03-19__``, a NIK in groups of four, text as typed."""
        if self.kind == DATE:
            padded = self.typed + "_" * (8 - len(self.typed))
            return f"{padded[:2]}-{padded[2:4]}-{padded[4:]}"
        if self.field.type in ("nik", "kk"):
            return " ".join(self.typed[i:i + 4] for i in range(0, len(self.typed), 4))
        return self.typed

    def key(self, key: str) -> None:
        """One key: a character, ``space`` or ``del``. Keys the field cannot take are ignored."""
        self.problem = None
        self.typed = logic.typed_key(self.typed, key, self.kind, self.limit)

    def choose(self, option: str) -> None:
        if self.kind == CHOICE and option in self.field.choices:
            self.typed = option
            self.problem = None

    def _answer(self) -> str:
        if self.kind == DATE and len(self.typed) == 8:
            return f"{self.typed[:2]}-{self.typed[2:4]}-{self.typed[4:]}"
        return self.typed.strip()

    def next(self) -> str | None:
        """Checks the answer. None: it was fine and the next field is current, or ``"done"`` after the last
        one (then :meth:`submit`); else the problem's text key (the field stays)."""
        value, problem = check_field(self.field, self._answer(), self.today())
        if self.kind == DATE and self.typed and len(self.typed) != 8:
            problem = "date"
        if self.kind == CHOICE and problem == "required":
            problem = "choice"   # "choose one", the buttons are right there
        if problem:
            self.problem = f"lf_p_{problem}" if f"lf_p_{problem}" in texts.TEXTS else "lf_p_invalid"
            return self.problem
        self.values[self.field.name] = self._answer()
        if self.last:
            assert self.type is not None
            _, problems = check_fields(self.type, self.values, self.today())
            if problems:   # the NIK against the date of birth and sex: back to the first field concerned
                name, problem = next((f.name, problems[f.name]) for f in self.type.fields if f.name in problems)
                self.index = next(i for i, f in enumerate(self.type.fields) if f.name == name)
                self.typed = self._typed_of(self.values.get(name, ""))
                self.problem = f"lf_p_{problem}" if f"lf_p_{problem}" in texts.TEXTS else "lf_p_invalid"
                return self.problem
            return "done"
        self.index += 1
        self.typed = self._typed_of(self.values.get(self.field.name, ""))
        return None

    def back(self) -> bool:
        """To the previous field (False on the first: the screen goes back to the list of letters)."""
        self.problem = None
        if self.index == 0:
            return False
        self.index -= 1
        self.typed = self._typed_of(self.values.get(self.field.name, ""))
        return True

    def _typed_of(self, answer: str) -> str:
        return answer.replace("-", "") if self.kind == DATE else answer

    # ------------------------------------------------------------------ sending and the slip

    def submit(self, on_reply: Callable[[Reply], None]) -> str | None:
        assert self.type is not None
        fields = {k: v for k, v in self.values.items() if v}
        rid = self.gate.send("letter_request", {"type": self.type.code, "fields": fields, "channel": "kiosk"},
                             on_reply)
        if rid is not None:
            log.info("letter_request %s (%s) from the kiosk", rid, self.type.code)   # never the answers
        return rid

    def sent(self, reply: Reply) -> Message:
        """The message after sending (and forgets the answers)."""
        self.values.clear()
        self.typed = ""
        if not reply.ok:
            log.warning("letter request refused: %s", reply.code)
        return sent_message(reply, ("lf_sent", "lf_sent_body"), "lf_failed", format_tracking_code)


def slip(result: dict[str, Any], office: OfficeConfig, *, public_url: str = "", lang: str = "id",
         paper_width: int = 80) -> list[Block]:
    """The printed receipt: the office, the letter, the tracking code large, and a QR code of the status page
    (the bare code without a public website: the kiosk's scanner reads either)."""
    t = lambda key: texts.text(key, lang)  # noqa: E731
    qr = f"{public_url.rstrip('/')}/surat/status/{result['code']}" if public_url else result["code"]
    return receipt(office.name, t("lf_slip_title"), t("lf_slip_code"), format_tracking_code(result["code"]),
                   t("lf_slip_note"), subtitle=result.get("type_name", ""), qr=qr, paper_width=paper_width)


__all__ = ["LetterFormFlow", "slip", "kind_of", "KEYBOARD", "LETTERS", "DIGITS", "DATE", "CHOICE", "TEXTS"]


#: Pages of the catalogue read at most (a page holds at least one type; an office has 20-30): past it, or at a
#: ``next`` already asked, the reading stops as if the service had not answered.
MAX_CATALOGUE_PAGES = 200


class CatalogueReader:
    """The office's letter types with their forms, as residents see them now: ``letter_catalogue`` with
    ``forms``, page after page, from the service. The kiosk offers these, never its own configuration
    file's copy, which on a kiosk Pi may differ from the office's and does not know what the kasi switched
    off. ``read(done)``: ``done`` gets the whole list, or None when a page failed (the last list stays)."""

    def __init__(self, requester: Any, timeout: float):
        self.requester = requester
        self.timeout = timeout
        self._waiting: list[Callable[[list[LetterTypeConfig] | None], None]] = []

    @property
    def reading(self) -> bool:
        return bool(self._waiting)

    def read(self, done: Callable[[list[LetterTypeConfig] | None], None]) -> None:
        """Starts a reading, or joins the one under way. ``done`` runs on the link's thread."""
        self._waiting.append(done)
        if len(self._waiting) == 1:
            self._page([], None)

    def _page(self, got: list[LetterTypeConfig], after: str | None, asked: tuple[str | None, ...] = (),
              again: bool = False) -> None:
        args: dict[str, Any] = {"forms": True} if after is None else {"forms": True, "after": after}

        def answered(reply: Reply) -> None:
            if not reply.ok and reply.code == "invalid_argument" and after is not None and not again:
                # The catalogue changed between pages (the service restarted with a configuration without the
                # type a page ended at): read it again from the first page, once.
                return self._page([], None, (), again=True)
            result = reply.result if reply.ok and isinstance(reply.result, dict) else None
            if result is None or not isinstance(result.get("types"), list):
                log.warning("letter catalogue not read: %s", reply.code or "malformed reply")
                return self._end(None)
            for data in result["types"]:
                try:
                    t = validate_table(LetterTypeConfig, data, "letter_catalogue", "layanan")
                except ConfigError as exc:   # a type this kiosk's version cannot ask: the others still
                    log.warning("letter type left out of the kiosk's form: %s", exc)
                    continue
                if all(t.code != g.code for g in got):   # a type once, however the pages came
                    got.append(t)
            following = result.get("next")
            if not (isinstance(following, str) and following):
                return self._end(got)
            read = asked + (after,)   # every page's 'after' so far, this one's too (the first's: None)
            if following in read or len(read) >= MAX_CATALOGUE_PAGES:
                # a 'next' that comes back to a page already read (or no end): the reading would never end
                # and the kiosk would ask the service for ever; the last list stays
                log.warning("letter catalogue not read: its pages do not end (next %r again)", following)
                return self._end(None)
            self._page(got, following, read, again)

        self.requester.send("letter_catalogue", args, answered, timeout=self.timeout)

    def _end(self, types: list[LetterTypeConfig] | None) -> None:
        waiting, self._waiting = self._waiting, []
        for done in waiting:
            done(types)
