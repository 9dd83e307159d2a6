"""Minta petugas menghubungi saya: a resident at the kiosk leaves a short report and a phone number, and staff
call back. Plain Python, no window yet (the kiosk's screens belong to its own issue): one question per screen
with the kiosk's big keys, like :mod:`.letter_form`.

:class:`ComplaintFlow` is the kiosk's short complaint form on the same steps machinery: the kind, the topic, the
text, then anonymous or a phone number.

Steps: the kind (pengaduan, aspirasi, permintaan informasi: as LAPOR!-SP4N classifies them), the topic (the
office's ``[complaints] topics``), the name, the phone number, and a short note (may be empty: then the report
says only that the resident asks to be contacted). Each answer is checked when *Lanjut* is pressed, with the
same checks the service applies (:func:`antre.link.protocol.normalize_name`, ``normalize_phone``), so the
problem is said at once. It goes to the service as ``complaint_submit`` (channel ``kiosk``; never anonymous:
a call back needs a number) and a slip with the report's code is printed. What was typed is never logged and
is forgotten when the flow is reset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from antre.config import OfficeConfig
from antre.link.mqtt import Reply
from antre.link.protocol import normalize_name, normalize_phone
from antre.rules.complaint_codes import CATEGORIES, format_complaint_code

from .. import logic, texts
from ..ticket import Block, receipt
from . import Message, sent_message

log = logging.getLogger(__name__)

CHOICE, LETTERS, DIGITS = logic.CHOICE, logic.LETTERS, logic.DIGITS
STEPS = ("category", "topic", "name", "phone", "note")
#: The complaint form's questions (:class:`ComplaintFlow`); after ``contact`` = ``anonim`` it is done.
COMPLAINT_STEPS = ("category", "topic", "text", "contact", "phone")
CONTACTS = ("anonim", "hp")
NOTE_LIMIT = 160
TEXT_LIMIT = 300
#: What the report says when the resident leaves no note.
DEFAULT_NOTE = "Warga meminta petugas menghubunginya (dari kios)."

TEXTS: dict[str, tuple[str, str]] = {
    "cb_title": ("Minta petugas menghubungi saya", "Ask staff to contact me"),
    "cb_sub": ("Keluhan, usulan atau pertanyaan", "A complaint, a suggestion or a question"),
    "cb_category": ("Jenis", "Kind"),
    "cb_topic": ("Topik", "Topic"),
    "cb_name": ("Nama Anda", "Your name"),
    "cb_phone": ("Nomor HP yang bisa dihubungi", "A phone number we can call"),
    "cb_note": ("Pesan singkat (boleh dikosongkan)", "A short message (may be left empty)"),
    "cb_cat_pengaduan": ("Pengaduan", "Complaint"),
    "cb_cat_aspirasi": ("Aspirasi / usulan", "Suggestion"),
    "cb_cat_informasi": ("Permintaan informasi", "Request for information"),
    "cb_sent": ("Terkirim. Petugas akan menghubungi Anda.", "Sent. Staff will contact you."),
    "cb_sent_body": ("Kode laporan: {code}. Simpan kertas yang tercetak.", "Report code: {code}. Keep the slip."),
    "cb_failed": ("Belum terkirim", "Not sent"),
    "cb_slip_title": ("TANDA TERIMA LAPORAN", "REPORT RECEIPT"),
    "cb_slip_code": ("Kode laporan", "Report code"),
    "cb_slip_note": ("Petugas akan menghubungi Anda. Jawaban juga dapat dilihat di situs desa dengan kode ini.",
                     "Staff will contact you. The answer can also be read on the village's site with this code."),
    "cb_p_choice": ("Pilih salah satu.", "Choose one."),
    "cb_p_name": ("Tulis nama dengan huruf saja, 2 sampai 60 huruf.", "Letters only, 2 to 60."),
    "cb_p_phone": ("Nomor HP seperti 081234567890.", "A phone number such as 081234567890."),
    # The complaint form (ComplaintFlow) and the screen both use.
    "cp_title": ("Sampaikan pengaduan atau usulan", "Make a complaint or a suggestion"),
    "cp_sub": ("Tulis singkat, boleh tanpa nama", "Write briefly, your name is not needed"),
    "cp_text": ("Tulis pengaduan Anda dengan singkat", "Write your complaint briefly"),
    "cp_contact": ("Boleh kami menghubungi Anda?", "May we contact you?"),
    "cp_contact_anonim": ("Tidak, tanpa nama (anonim)", "No, anonymous"),
    "cp_contact_hp": ("Ya, lewat nomor HP", "Yes, by phone"),
    "cp_sent": ("Pengaduan Anda terkirim", "Your report was sent"),
    "cp_sent_body": ("Kode laporan: {code}. Simpan kertas yang tercetak. Pindai atau ketik kode ini di kios "
                     "untuk melihat jawabannya.",
                     "Report code: {code}. Keep the printed slip. Scan or type this code at the kiosk to see "
                     "the answer."),
    "cp_slip_note": ("Lihat jawabannya dengan kode ini: pindai kertas ini di kios, atau buka situs desa.",
                     "Read the answer with this code: scan this slip at the kiosk, or open the village's site."),
    "cp_p_text": ("Tulis paling sedikit 3 huruf.", "Write at least 3 letters."),
    "cb_step": ("Langkah {n} dari {total}", "Step {n} of {total}"),
    "cb_next": ("Lanjut", "Next"),
    "cb_send": ("Kirim", "Send"),
    "kb_back": ("Pilih kelompok huruf lain", "Choose another group of letters"),
    "kb_space": ("Spasi", "Space"),
    "kb_digits": ("Angka", "Digits"),
}
texts.TEXTS.update(TEXTS)


class CallbackFlow:
    """One request typed at the kiosk: the current step and the answers."""

    #: the questions, in order
    steps: tuple[str, ...] = STEPS
    #: the message keys after sending (title, body), and its title when refused
    sent_keys, failed_key = ("cb_sent", "cb_sent_body"), "cb_failed"
    #: the slip's note (:func:`slip`)
    slip_note = "cb_slip_note"

    def __init__(self, gate: logic.CommandGate, topics: list[str]):
        self.gate = gate
        self.topics = list(topics)
        self.reset()

    def reset(self) -> None:
        self.index = 0
        self.values: dict[str, str] = {}
        self.typed = ""
        self.problem: str | None = None

    @property
    def step(self) -> str:
        return self.steps[self.index]

    @property
    def last(self) -> bool:
        return self.index == len(self.steps) - 1

    @property
    def kind(self) -> str:
        return {"category": CHOICE, "topic": CHOICE, "contact": CHOICE, "phone": DIGITS}.get(self.step, LETTERS)

    @property
    def choices(self) -> list[str]:
        return {"category": list(CATEGORIES), "topic": self.topics, "contact": list(CONTACTS)}.get(self.step, [])

    @property
    def limit(self) -> int:
        return {"name": 60, "phone": 13, "note": NOTE_LIMIT, "text": TEXT_LIMIT}.get(self.step, 32)

    @property
    def shown(self) -> str:
        """What the screen shows of the answer: a long text's end (the part being typed)."""
        return self.typed if len(self.typed) <= 90 else "\u2026" + self.typed[-89:]

    def key(self, key: str) -> None:
        """One key: a character, ``space`` or ``del``. Keys the step cannot take are ignored."""
        self.problem = None
        self.typed = logic.typed_key(self.typed, key, self.kind, self.limit, " .,-/'?")

    def choose(self, option: str) -> None:
        if option in self.choices:
            self.typed = option
            self.problem = None

    def next(self) -> str | None:
        """None: fine, the next step is current; ``"done"`` after the last (then :meth:`submit`); else the
        problem's text key (the step stays)."""
        value = self.typed.strip()
        if self.kind == CHOICE and value not in self.choices:
            self.problem = "cb_p_choice"
        elif self.step == "name" and normalize_name(value) is None:
            self.problem = "cb_p_name"
        elif self.step == "phone" and normalize_phone(value) is None:
            self.problem = "cb_p_phone"
        elif self.step == "text" and len(value) < 3:
            self.problem = "cp_p_text"
        if self.problem:
            return self.problem
        self.values[self.step] = value
        if self.last or (self.step == "contact" and value == "anonim"):
            return "done"
        self.index += 1
        self.typed = self.values.get(self.step, "")
        return None

    def back(self) -> bool:
        self.problem = None
        if self.index == 0:
            return False
        self.index -= 1
        self.typed = self.values.get(self.step, "")
        return True

    def submit(self, on_reply: Callable[[Reply], None]) -> str | None:
        v = self.values
        args = {"category": v["category"], "topic": v["topic"], "text": v.get("note") or DEFAULT_NOTE,
                "name": normalize_name(v["name"]), "phone": normalize_phone(v["phone"]), "anonymous": False,
                "channel": "kiosk"}
        rid = self.gate.send("complaint_submit", args, on_reply)
        if rid is not None:
            log.info("complaint_submit %s from the kiosk (%s)", rid, v["topic"])   # never the answers
        return rid

    def sent(self, reply: Reply) -> Message:
        """The message after sending (and forgets the answers)."""
        self.reset()
        if not reply.ok:
            log.warning("complaint refused: %s", reply.code)
        return sent_message(reply, self.sent_keys, self.failed_key, format_complaint_code)


class ComplaintFlow(CallbackFlow):
    """Pengaduan at the kiosk, the short form: the kind, the topic, the text, then anonymous or a phone number
    (for an SMS-free call back; the answer is read with the printed code, here or on the village's site)."""

    steps = COMPLAINT_STEPS
    sent_keys, failed_key = ("cp_sent", "cp_sent_body"), "cb_failed"
    slip_note = "cp_slip_note"

    def submit(self, on_reply: Callable[[Reply], None]) -> str | None:
        v = self.values
        anonymous = v.get("contact") != "hp"
        args: dict[str, Any] = {"category": v["category"], "topic": v["topic"], "text": v["text"],
                                "anonymous": anonymous, "channel": "kiosk"}
        if not anonymous:
            args["phone"] = normalize_phone(v["phone"])
        rid = self.gate.send("complaint_submit", args, on_reply)
        if rid is not None:
            log.info("complaint_submit %s from the kiosk (%s%s)", rid, v["topic"], ", anonymous" if anonymous else "")
        return rid


def slip(result: dict[str, Any], office: OfficeConfig, *, public_url: str = "", lang: str = "id",
         paper_width: int = 80, note_key: str = "cb_slip_note") -> list[Block]:
    """The printed receipt: the office, the report's code large, and a QR code the kiosk's scanner reads back:
    its status page on the website, or the bare code without a public website."""
    t = lambda key: texts.text(key, lang)  # noqa: E731
    qr = f"{public_url.rstrip('/')}/pengaduan/{result['code']}" if public_url else result["code"]
    return receipt(office.name, t("cb_slip_title"), t("cb_slip_code"), format_complaint_code(result["code"]),
                   t(note_key), qr=qr, paper_width=paper_width)


__all__ = ["CallbackFlow", "ComplaintFlow", "slip", "STEPS", "COMPLAINT_STEPS", "CONTACTS", "TEXTS", "DEFAULT_NOTE"]
