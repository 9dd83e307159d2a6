"""Ambil surat: the letter's 12-digit tracking code typed on the big keypad, then ``letter_pickup``.

A resident whose letter is ready (they saw "Siap Diambil" on their phone) types the code from the website
(or from the status page's QR code, read out by staff). The check digit catches a mistyped or swapped digit
before anything is sent. The service answers with an ordinary queue ticket of ``[letters] pickup_service``,
shown and printed like any other (:mod:`.issuing`); the counter's work list shows whose letter it is for.
The code is never logged: it is the resident's key to the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from antre.link.mqtt import Reply
from antre.rules.letter_codes import TRACKING_DIGITS, tracking_code_ok

from .. import logic, texts
from . import Message
from .code_entry import MISTYPED, SEND, CodeEntry

log = logging.getLogger(__name__)

#: The words of this flow (merged into :data:`antre_kiosk.texts.TEXTS`, so they are said like every other).
TEXTS: dict[str, tuple[str, str]] = {
    "letter_pickup": ("Ambil surat", "Collect a letter"),
    "letter_pickup_sub": ("Surat saya sudah siap", "My letter is ready"),
    "letter_prompt": ("Ketik kode pelacakan surat Anda (12 angka)", "Type your letter's tracking code (12 digits)"),
    "letter_mistyped": ("Ada angka yang salah ketik. Periksa lagi kode Anda.",
                        "A digit is mistyped. Check your code again."),
    "letter_failed": ("Surat belum bisa diambil", "The letter cannot be collected yet"),
    "letter_err_letter_not_found": ("Kode tidak ditemukan. Periksa lagi 12 angkanya.",
                                    "Code not found. Check the 12 digits again."),
    "letter_err_letter_not_ready": ("Surat Anda masih diproses. Pantau statusnya di HP; kami kabari bila siap.",
                                    "Your letter is still being processed. Follow it on your phone."),
    "letter_err_letter_collected": ("Surat ini sudah diambil.", "This letter was collected already."),
    "letter_err_letter_cancelled": ("Permohonan surat ini dibatalkan. Silakan tanya petugas.",
                                    "This request was cancelled. Please ask the staff."),
    "letter_err_pickup_taken": ("Anda sudah mengambil nomor antrean untuk surat ini hari ini.",
                                "You already took a number for this letter today."),
    "letter_err_pickup_unavailable": ("Pengambilan surat lewat kios belum diatur. Silakan ke loket.",
                                      "Collecting letters at the kiosk is not set up. Please go to the counter."),
    "letter_err_too_many_attempts": ("Terlalu banyak kode yang salah. Silakan minta bantuan petugas.",
                                     "Too many wrong codes. Please ask the staff for help."),
}
texts.TEXTS.update(TEXTS)


class LetterPickupFlow(CodeEntry):
    """The typed code (``typed``), what the keypad shows, and the ``letter_pickup`` command."""

    what = "letter pickup"

    def __init__(self, gate: logic.CommandGate):
        super().__init__(gate, TRACKING_DIGITS, tracking_code_ok)

    @property
    def shown(self) -> str:
        """The code as the screen shows it, in groups of four as the website prints it: ``1234 56__ ____``."""
        padded = self.typed + "_" * (TRACKING_DIGITS - len(self.typed))
        return " ".join(padded[i:i + 4] for i in range(0, TRACKING_DIGITS, 4))

    mistyped = Message("warning.png", "letter_failed", "letter_mistyped")

    def pickup(self, code: str, on_reply: Callable[[Reply], None]) -> str | None:
        """Sends ``letter_pickup``; None when a command is already in flight."""
        rid = self.gate.send("letter_pickup", {"code": code}, on_reply)
        if rid is not None:
            log.info("letter_pickup request %s", rid)   # not the code: it is the resident's key
        return rid

    send = pickup

    @staticmethod
    def refusal(reply: Reply) -> Message:
        log.warning("letter pickup refused: %s", reply.code)
        key = texts.error_key(reply.code, f"letter_err_{reply.code}")
        return Message("warning.png", "letter_failed", key)


__all__ = ["LetterPickupFlow", "SEND", "MISTYPED", "TEXTS"]
