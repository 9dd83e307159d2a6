"""The kiosk's flows as plain Python, one module per flow, tested without a window.

Each holds the decisions of one flow and talks to the service (through a
:class:`~antre_kiosk.logic.CommandGate`) or the printer; :mod:`antre_kiosk.app` only wires
them to screens and hands their callbacks to Kivy's main thread.

- :mod:`.home`: what the start screen says (availability banner, title, service buttons);
- :mod:`.issuing`: a touch on a service button, ``issue_ticket``, the ticket screen and the printout;
- :mod:`.code_entry`: a code typed on the keypad and checked by its check digit (used by the next two);
- :mod:`.checkin`: the booking code typed on the keypad, ``check_in``;
- :mod:`.letters`: "Ambil surat", a ready letter's tracking code typed on the keypad, ``letter_pickup``;
- :mod:`.letter_form`: "Ajukan surat", a letter's form one question at a time, ``letter_request``, the slip;
- :mod:`.callback`: "Minta petugas menghubungi saya", a short report with a phone number, and the short
  complaint form (anonymous or a phone number), ``complaint_submit``, the slip;
- :mod:`.faq`: *Tanya jawab*, the office's common questions and one's own, ``ask``;
- :mod:`.scan`: the QR/barcode reader (a keyboard wedge): a scan told from typing, what a payload names, and
  its live status (``ticket_status``, ``letter_status``, ``letter_verify``, ``complaint_status``);
- :mod:`.rating`: the face scale, the nine IKM questions, ``rate``;
- :mod:`.staff`: the staff PIN that leaves kiosk mode;
- :mod:`.printer_status`: the printer's state in the kiosk's presence message, and when to check it again.

Texts come from :mod:`antre_kiosk.texts` by key, so a flow's answer is the same in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Message:
    """A full-screen message: an icon (file name in the kiosk's assets) and text keys.

    ``values`` fill the placeholders (such as ``{number}``) of the title and the body; ``body_key`` may be None.
    """

    icon: str
    title_key: str
    body_key: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


def sent_message(reply: Any, sent: tuple[str, str], failed_title: str, code: Callable[[str], str]) -> Message:
    """The message after a form was sent: ``sent`` (title and body keys; the body shows ``{code}``, the reply's
    code as ``code`` formats it) when the service took it, else ``failed_title`` with the refusal in words."""
    from .. import texts

    if reply.ok:
        return Message("check.png", sent[0], sent[1], {"code": code(reply.result["code"])})
    return Message("warning.png", failed_title, texts.error_key(reply.code))
