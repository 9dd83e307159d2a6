"""MQTT protocol v1: topics, command payload validation and reply shapes.

Everything here is pure: no network, no database. ``docs/protocol.md`` is the
human-readable version of this module; keep the two in step.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from antre import PROTOCOL_VERSION
from antre.config import LETTER_REQUIREMENTS, REQUIREMENT_CHARS, SERVICE_REQUIREMENTS
from antre.errors import BadRequest, CommandError, Forbidden
# The booking code's format is the rules' own; named here too, for the devices that check one before sending.
from antre.rules.booking_code import BOOKING_CODE_DIGITS, booking_code_ok, check_digit, new_booking_code
from antre.rules.letter_fields import MAX_FIELDS, MAX_VALUE
from antre.rules.letter_codes import LETTER_STATUSES, clean_tracking_code, tracking_code_ok
from antre.rules.question_codes import clean_question_code
from antre.rules.sms_text import msisdn as normalize_phone   # an Indonesian mobile number as 08...; None if not one
from antre.rules.complaint_codes import (CATEGORIES as COMPLAINT_CATEGORIES, PHOTO_NAME, STATUSES as COMPLAINT_STATUSES,
                                    clean_complaint_code, complaint_code_ok)

PRIORITY_KINDS = ("lansia", "disabilitas", "ibu_hamil")
CHANNELS = ("kiosk", "web", "counter", "admin")
EVENT_TYPES = ("ticket_issued", "ticket_called", "ticket_completed", "ticket_skipped",
               "ticket_transferred", "rating_received", "letter_status", "complaint_status")
_REQUEST_ID = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
_TICKET = re.compile(r"[A-Z]-\d{1,6}")
_RATING_CODE = re.compile(r"\d{4}")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


#: What a login of each role may be on the wire (the broker's ACL enforces it: antre/ops/broker.py).
ROLES = ("service", "kiosk", "counter", "display", "web", "admin")
#: The roles that send commands; a display only listens.
SENDER_ROLES = ("kiosk", "counter", "web", "admin")


@dataclass(frozen=True)
class Sender:
    """Who sent a command, read from its topic ``{base}/cmd/{role}/{client_id}/{command}``.

    The broker's ACL lets each login publish only under its own role and name, and the shipped broker
    configuration makes every client id equal its login name: so this is the sender's identity as the
    broker enforces it, never something the payload claims.
    """

    role: str
    client_id: str
    command: str


class Topics:
    """All topic names for one office. ``Topics("sukamaju").state == "antre/v2/sukamaju/state"``.

    The one place topic names are built and read: devices, the service, the broker's ACL and the tests
    all go through it.
    """

    def __init__(self, office_id: str):
        self.office_id = office_id
        self.base = f"antre/v{PROTOCOL_VERSION}/{office_id}"
        self.state = f"{self.base}/state"
        self.ticker = f"{self.base}/ticker"
        self.commands = f"{self.base}/cmd/+/+/+"
        self.events = f"{self.base}/event/+"
        self.statuses = f"{self.base}/status/+/+"
        self.service_statuses = f"{self.base}/status/service/+"
        # Village information for the TV and the kiosk (docs/protocol.md, "Village information on the devices").
        self.news = f"{self.base}/news"
        self.news_pictures = f"{self.base}/news/picture/+"
        # The district outbox (docs/protocol.md, "District"): bridged up to the district's broker.
        self.district_event = f"{self.base}/district/event"
        self.district_head = f"{self.base}/district/head"
        self.district_resend = f"{self.base}/district/resend"
        # Protocol 1 (before commands named their sender): only to tell outdated devices so.
        self.legacy_base = f"antre/v1/{office_id}"
        self.legacy_commands = f"{self.legacy_base}/cmd/+"
        self.legacy_statuses = f"{self.legacy_base}/status/+"

    def command(self, name: str, role: str, client_id: str) -> str:
        """The topic a ``role`` device called ``client_id`` publishes command ``name`` to."""
        return f"{self.base}/cmd/{role}/{client_id}/{name}"

    def news_picture(self, item: int) -> str:
        """The retained JPEG of news item ``item`` (the devices' copy), published by the service only."""
        return f"{self.base}/news/picture/{item}"

    def news_item_of(self, topic: str) -> int | None:
        """The item id of a news picture topic, or None."""
        prefix = f"{self.base}/news/picture/"
        rest = topic[len(prefix):] if topic.startswith(prefix) else ""
        return int(rest) if rest.isdigit() and len(rest) < 16 else None

    def reply(self, client_id: str) -> str:
        return f"{self.base}/reply/{client_id}"

    def event(self, name: str) -> str:
        return f"{self.base}/event/{name}"

    def status(self, role: str, client_id: str) -> str:
        """A component's retained presence. Only the login ``client_id`` (of that role) may write it."""
        return f"{self.base}/status/{role}/{client_id}"

    def sender(self, topic: str) -> Sender | None:
        """The sender of a command topic, or None when the topic is not one."""
        prefix = f"{self.base}/cmd/"
        if not topic.startswith(prefix):
            return None
        parts = topic[len(prefix):].split("/")
        if len(parts) != 3 or not all(parts):
            return None
        return Sender(*parts)

    def presence_of(self, topic: str) -> tuple[str, str] | None:
        """``(role, client_id)`` of a presence topic, or None when the topic is not one."""
        prefix = f"{self.base}/status/"
        parts = topic[len(prefix):].split("/") if topic.startswith(prefix) else []
        return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None

    def legacy_client(self, topic: str) -> str | None:
        """The last level of a protocol 1 topic (a command name or a client id)."""
        return topic.rsplit("/", 1)[-1] if topic.startswith(self.legacy_base + "/") else None


# ---------------------------------------------------------------------- argument checks

def _string(pattern: re.Pattern[str] | None = None, what: str = "", max_len: int = 200):
    def check(name: str, value: Any) -> Any:
        if not isinstance(value, str):
            raise BadRequest("invalid_argument", f"'{name}' must be a string")
        if len(value) > max_len or (pattern is not None and not pattern.fullmatch(value)):
            raise BadRequest("invalid_argument", f"'{name}' must be {what}")
        return value
    return check


def _choice(options: tuple[str, ...]):
    def check(name: str, value: Any) -> Any:
        if value not in options:
            raise BadRequest("invalid_argument", f"'{name}' must be one of {', '.join(options)}")
        return value
    return check


def _score(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4:
        raise BadRequest("invalid_argument", f"'{name}' must be a whole number from 1 to 4")
    return value


def _elements(name: str, value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) != 9:
        raise BadRequest("invalid_argument", f"'{name}' must be a list of the 9 IKM element scores (1-4)")
    return [_score(f"{name}[{i}]", v) for i, v in enumerate(value)]


def _comment(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > 500:
        raise BadRequest("invalid_argument", f"'{name}' must be a string of at most 500 characters")
    return value.strip()


def _date(name: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise BadRequest("invalid_argument", f"'{name}' must be a date YYYY-MM-DD")
    return value


_service = _string(_ID, "a service code such as 'adminduk'", 32)
_letter_type = _string(_ID, "a letter type code such as 'domisili'", 32)
_counter = _string(_ID, "a counter id such as 'loket-1'", 32)


@dataclass(frozen=True)
class Arg:
    check: Callable[[str, Any], Any]
    required: bool = True


def _token(name: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{32,128}", value):
        raise BadRequest("invalid_argument", f"'{name}' must be a session token (32-128 URL-safe characters)")
    return value


def _secret(name: str, value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 256:
        raise BadRequest("invalid_argument", f"'{name}' must be a string of 1-256 characters")
    return value


def _staff_name(name: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9._-]{1,31}", value):
        raise BadRequest("invalid_argument", f"'{name}' must be an account name: 2-32 lower-case letters, digits, "
                                             "'.', '_' or '-', starting with a letter")
    return value


def _counter_list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 50:
        raise BadRequest("invalid_argument", f"'{name}' must be a list of counter ids")
    return [_counter(f"{name}[{i}]", v) for i, v in enumerate(value)]


_STAFF_ROLES = ("petugas", "kasi", "penandatangan", "admin")


def _holidays(name: str, value: Any) -> list[str]:
    """The shape only (a list of short texts); the dates are checked by the configuration's schema."""
    if not isinstance(value, list) or len(value) > 200 or not all(isinstance(d, str) and len(d) <= 10 for d in value):
        raise BadRequest("invalid_argument", f"'{name}' must be a list of at most 200 dates YYYY-MM-DD")
    return value


_address = _string(None, "a network address", 64)
_full_name = _string(None, "a name of at most 80 characters", 80)
#: The console's session and the browser's address, optional on every counter command: a counter
#: operated from the console (antre web) carries the person's session (antre/rules/staff.py).
_CONSOLE = {"session": Arg(_token, False), "address": Arg(_address, False)}
_NUMBER = Arg(_string(_TICKET, "a ticket number such as 'A-012'", 16))

COMMANDS: dict[str, dict[str, Arg]] = {
    "issue_ticket": {"service": Arg(_service), "priority": Arg(_choice(PRIORITY_KINDS), False),
                     "channel": Arg(_choice(CHANNELS), False),
                     # Only with channel "web" (and then required): see antre/rules/appointments.py.
                     "name": Arg(lambda n, v: _person_name(n, v), False),
                     "phone": Arg(lambda n, v: _phone(n, v), False),
                     # Opt-in to SMS about this ticket (with a phone; antre/rules/notify.py).
                     "notify": Arg(lambda n, v: _flag(n, v), False)},
    "call_next": {"counter": Arg(_counter)} | _CONSOLE,
    "recall": {"counter": Arg(_counter)} | _CONSOLE,
    "skip": {"counter": Arg(_counter)} | _CONSOLE,
    "complete": {"counter": Arg(_counter)} | _CONSOLE,
    "transfer": {"counter": Arg(_counter), "service": Arg(_service)} | _CONSOLE,
    "pause": {"counter": Arg(_counter)} | _CONSOLE,
    "resume": {"counter": Arg(_counter)} | _CONSOLE,
    "bring_back": {"counter": Arg(_counter), "number": _NUMBER} | _CONSOLE,
    "call_number": {"counter": Arg(_counter), "number": _NUMBER} | _CONSOLE,
    "rate": {"ticket": Arg(_string(_TICKET, "a ticket number such as 'A-012'", 16)), "score": Arg(_score),
             "elements": Arg(_elements, False), "comment": Arg(_comment, False), "date": Arg(_date, False),
             "code": Arg(_string(_RATING_CODE, "the 4-digit rating code printed on the ticket", 4), False)},
    # antre web: appointments, check-in, ticket status (antre/rules/appointments.py)
    "book": {"service": Arg(_service), "date": Arg(_date), "slot": Arg(lambda n, v: _slot(n, v)),
             "name": Arg(lambda n, v: _person_name(n, v)), "phone": Arg(lambda n, v: _phone(n, v)),
             "notify": Arg(lambda n, v: _flag(n, v), False)},
    "check_in": {"code": Arg(lambda n, v: _booking_code(n, v)), "channel": Arg(_choice(("kiosk", "web")), False)},
    "cancel_booking": {"code": Arg(lambda n, v: _booking_code(n, v)), "phone": Arg(lambda n, v: _phone(n, v))},
    "booking_status": {"code": Arg(lambda n, v: _booking_code(n, v)), "address": Arg(_address, False)},
    "ticket_status": {"number": Arg(_string(_TICKET, "a ticket number such as 'A-012'", 16)),
                      "date": Arg(_date, False)},
    "booking_slots": {"service": Arg(_service), "date": Arg(_date)},
    "web_info": {},
    # The FAQ assistant (antre/rules/faq.py): a resident's question, answered only when it is sure.
    "ask": {"question": Arg(_string(None, "a question of at most 300 characters", 300))},
    "set_web": {"service": Arg(_service), "remote": Arg(lambda n, v: _flag(n, v), False),
                "appointments": Arg(lambda n, v: _flag(n, v), False)} | _CONSOLE,
    # Letters (antre/rules/letters.py). Personal data only in letter_request's and letter_edit's 'fields'.
    "letter_request": {"type": Arg(_letter_type), "fields": Arg(lambda n, v: _letter_fields(n, v)),
                       "channel": Arg(_choice(("web", "kiosk", "counter", "admin"))),
                       # Typed in by staff at the counter (channel 'counter'): the person's console session.
                       "session": Arg(lambda n, v: _token(n, v), False), "address": Arg(lambda n, v: _address(n, v), False),
                       # Opt-in: SMS news of the request to this number (antre/rules/notify.py's outbox).
                       "phone": Arg(lambda n, v: _phone(n, v), False)},
    # 'address': the browser's, from the website: unknown codes are counted per address (antre/service/server.py)
    "letter_status": {"code": Arg(lambda n, v: _tracking_code(n, v)), "address": Arg(lambda n, v: _address(n, v), False)},
    "letter_cancel": {"code": Arg(lambda n, v: _tracking_code(n, v))},
    "letter_pickup": {"code": Arg(lambda n, v: _tracking_code(n, v)), "channel": Arg(_choice(("kiosk", "web", "admin")), False)},
    "letter_verify": {"token": Arg(_string(re.compile(r"[A-Za-z0-9_-]{16,32}"), "a verification token", 32))},
    # The console's letter commands carry the signed-in person's session (antre/rules/staff.py decides).
    "letter_list": {"status": Arg(_choice(LETTER_STATUSES), False), "type": Arg(_letter_type, False),
                    **(_LETTER_STAFF := {"session": Arg(_token), "address": Arg(_address, False)})},
    "letter_get": {"request": Arg(lambda n, v: _positive(n, v)), "purpose": Arg(_choice(("view", "print")), False),
                   **_LETTER_STAFF},
    "letter_set_status": {"request": Arg(lambda n, v: _positive(n, v)), "status": Arg(_choice(LETTER_STATUSES)),
                          "reason": Arg(lambda n, v: _reason(n, v), False), "signer": Arg(_string(_ID, "a signer id", 32), False),
                          **_LETTER_STAFF},
    "letter_edit": {"request": Arg(lambda n, v: _positive(n, v)), "fields": Arg(lambda n, v: _letter_fields(n, v)),
                    **_LETTER_STAFF},
    "letter_assign_number": {"request": Arg(lambda n, v: _positive(n, v)), **_LETTER_STAFF},
    "letter_reserve_number": {"classification": Arg(_string(re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]{0,19}"),
                                                            "a classification code such as '474.4'", 20)),
                              "subject": Arg(lambda n, v: _reason(n, v)), "recipient": Arg(lambda n, v: _reason(n, v)),
                              "sequence": Arg(_string(re.compile(r"[a-z0-9][a-z0-9_:.-]{0,39}"), "a sequence name", 40), False),
                              "type": Arg(_letter_type, False), **_LETTER_STAFF},
    "letter_register": {"year": Arg(lambda n, v: _year(n, v)), "after": Arg(lambda n, v: _positive(n, v), False),
                        **_LETTER_STAFF},
    "letter_catalogue": {"after": Arg(_letter_type, False), "forms": Arg(lambda n, v: _flag(n, v), False)},
    "letter_type_update": {"type": Arg(_letter_type), "active": Arg(lambda n, v: _flag(n, v), False),
                           "purpose": Arg(_string(None, "a text of at most 500 characters", 500), False),
                           "requirements": Arg(lambda n, v: _requirements(n, v, LETTER_REQUIREMENTS, blank_ok=False), False),
                           "days": Arg(lambda n, v: _small_int(n, v, 60), False),
                           "cost": Arg(lambda n, v: _small_int(n, v, 10_000_000), False), **_LETTER_STAFF},
    "letter_revoke": {"request": Arg(lambda n, v: _positive(n, v)), "reason": Arg(lambda n, v: _reason(n, v)),
                      **_LETTER_STAFF},
    # Complaints (antre/rules/complaints.py). Personal data only in complaint_submit's name, phone and text
    # and complaint_add's text; the console's commands carry the signed-in person's session.
    "complaint_submit": {"category": Arg(_choice(COMPLAINT_CATEGORIES)), "topic": Arg(_string(_ID, "a topic", 32)),
                         "text": Arg(lambda n, v: _long_text(n, v)),
                         "anonymous": Arg(lambda n, v: _flag(n, v), False),
                         "name": Arg(lambda n, v: _person_name(n, v), False),
                         "phone": Arg(lambda n, v: _phone(n, v), False),
                         "notify": Arg(lambda n, v: _flag(n, v), False),
                         "photo": Arg(_string(PHOTO_NAME, "a photo name (its SHA-256 and .jpg)", 68), False),
                         "channel": Arg(_choice(("web", "kiosk", "sms", "admin")), False)},
    "complaint_status": {"code": Arg(lambda n, v: _complaint_code(n, v)), "address": Arg(lambda n, v: _address(n, v), False)},
    "complaint_add": {"code": Arg(lambda n, v: _complaint_code(n, v)), "text": Arg(lambda n, v: _long_text(n, v))},
    "complaint_rate": {"code": Arg(lambda n, v: _complaint_code(n, v)), "rating": Arg(lambda n, v: _rating5(n, v))},
    "complaint_list": {"status": Arg(_choice(COMPLAINT_STATUSES), False), "topic": Arg(_string(_ID, "a topic", 32), False),
                       "mine": Arg(lambda n, v: _flag(n, v), False),
                       **(_COMPLAINT_STAFF := {"session": Arg(_token), "address": Arg(_address, False)})},
    "complaint_get": {"complaint": Arg(lambda n, v: _positive(n, v)),
                      "purpose": Arg(_choice(("view", "photo")), False), **_COMPLAINT_STAFF},
    "complaint_set_status": {"complaint": Arg(lambda n, v: _positive(n, v)), "status": Arg(_choice(COMPLAINT_STATUSES)),
                             "reason": Arg(lambda n, v: _long_text(n, v, 1000), False),
                             "refer_to": Arg(lambda n, v: _long_text(n, v, 500), False), **_COMPLAINT_STAFF},
    "complaint_reply": {"complaint": Arg(lambda n, v: _positive(n, v)), "text": Arg(lambda n, v: _long_text(n, v)),
                        "final": Arg(lambda n, v: _flag(n, v), False), **_COMPLAINT_STAFF},
    "complaint_note": {"complaint": Arg(lambda n, v: _positive(n, v)), "text": Arg(lambda n, v: _long_text(n, v)),
                       **_COMPLAINT_STAFF},
    "complaint_assign": {"complaint": Arg(lambda n, v: _positive(n, v)), "to": Arg(_staff_name), **_COMPLAINT_STAFF},
    "complaint_merge": {"complaint": Arg(lambda n, v: _positive(n, v)), "into": Arg(lambda n, v: _positive(n, v)),
                        **_COMPLAINT_STAFF},
    "complaint_summary": {"month": Arg(_string(re.compile(r"[0-9]{4}-[0-9]{2}"), "a month YYYY-MM", 7)),
                          "after": Arg(lambda n, v: _positive(n, v), False), **_COMPLAINT_STAFF},
    # The month's complaints with texts and contacts (never an anonymous one's) for LAPOR! (antre/rules/complaint_export.py).
    "complaint_export": {"month": Arg(_string(re.compile(r"[0-9]{4}-[0-9]{2}"), "a month YYYY-MM", 7)),
                         "after": Arg(lambda n, v: _positive(n, v), False), **_COMPLAINT_STAFF},
    # "Semua urusan saya" (antre/rules/my_items.py): a phone number confirmed by an SMS code, then its open items.
    "items_code": {"phone": Arg(lambda n, v: _phone(n, v)), "address": Arg(_address, False)},
    "items_confirm": {"phone": Arg(lambda n, v: _phone(n, v)),
                      "code": Arg(_string(re.compile(r"\d{6}"), "the 6-digit code from the SMS", 6)),
                      "session": Arg(_token), "address": Arg(_address, False)},
    "items_list": {"session": Arg(_token)},
    "items_logout": {"session": Arg(_token)},
    # Village information (antre/rules/news.py): written by the kasi, read by anyone through the website.
    "news_save": {"session": Arg(_token), "kind": Arg(_choice(("pengumuman", "berita"))),
                  "title": Arg(lambda n, v: _long_text(n, v, 120)), "body": Arg(lambda n, v: _long_text(n, v, 4000)),
                  "publish_on": Arg(_date), "expires_on": Arg(_date, False), "ticker": Arg(lambda n, v: _flag(n, v), False),
                  "item": Arg(lambda n, v: _positive(n, v), False), "address": Arg(_address, False),
                  # the website's name for the picture it wrote (web/photos.py); "" removes the item's picture
                  "picture": Arg(_string(re.compile(r"(?:[0-9a-f]{64}\.jpg)?"), "a picture name <sha256>.jpg or empty",
                                         68), False)},
    "news_slides": {"session": Arg(_token), "on": Arg(lambda n, v: _flag(n, v), False),
                    "seconds": Arg(lambda n, v: _positive(n, v), False), "address": Arg(_address, False)},
    "news_withdraw": {"session": Arg(_token), "item": Arg(lambda n, v: _positive(n, v)), "address": Arg(_address, False)},
    "news_list": {"session": Arg(_token), "address": Arg(_address, False)},
    "news_public": {"item": Arg(lambda n, v: _positive(n, v), False),
                    "excerpt": Arg(lambda n, v: _positive(n, v), False),
                    # a page of the list (the portal's /kabar?hal=): skip `offset`, then at most `limit` (1-30)
                    "offset": Arg(lambda n, v: _small_int(n, v, 100_000), False),
                    "limit": Arg(lambda n, v: _whole(n, v, 1, 30), False),
                    "picture": Arg(_string(re.compile(r"[0-9a-f]{64}\.jpg"), "a picture name <sha256>.jpg", 68), False)},
    # The FAQ and the staff inbox of residents' questions (antre/rules/questions.py). Residents' words only in
    # question_submit's question and phone and in direct replies to staff's read-only questions.
    "faq_list": {"session": Arg(_token), "address": Arg(_address, False)},
    "faq_save": {"session": Arg(_token), "questions": Arg(lambda n, v: _text_list(n, v, 30, 200)),
                 "answer": Arg(lambda n, v: _long_text(n, v, 1000)),
                 "links": Arg(lambda n, v: _text_list(n, v, 5, 200, empty_ok=True), False),
                 "active": Arg(lambda n, v: _flag(n, v), False), "entry": Arg(lambda n, v: _positive(n, v), False),
                 "question": Arg(lambda n, v: _positive(n, v), False), "address": Arg(_address, False)},
    # The common questions' buttons (kiosk, website): public, read-only, no answers.
    "faq_common": {"limit": Arg(lambda n, v: _positive(n, v), False)},
    "faq_delete": {"session": Arg(_token), "entry": Arg(lambda n, v: _positive(n, v)), "address": Arg(_address, False)},
    "question_submit": {"question": Arg(_string(None, "a question of at most 300 characters", 300)),
                        "channel": Arg(_choice(("web", "kiosk"))), "phone": Arg(lambda n, v: _phone(n, v), False),
                        "notify": Arg(lambda n, v: _flag(n, v), False), "address": Arg(_address, False)},
    "question_status": {"code": Arg(lambda n, v: _question_code(n, v)), "address": Arg(lambda n, v: _address(n, v), False)},
    "question_list": {"session": Arg(_token), "state": Arg(_choice(("open", "answered", "dismissed")), False),
                      "address": Arg(_address, False)},
    "question_get": {"session": Arg(_token), "question": Arg(lambda n, v: _positive(n, v)),
                     "address": Arg(_address, False)},
    "question_answer": {"session": Arg(_token), "question": Arg(lambda n, v: _positive(n, v)),
                        "text": Arg(lambda n, v: _long_text(n, v, 1000)), "address": Arg(_address, False)},
    "question_dismiss": {"session": Arg(_token), "question": Arg(lambda n, v: _positive(n, v)),
                         "address": Arg(_address, False)},
    # The office's weekly settings, by a kasi in the staff console (antre/rules/office.py)
    "office_set": {"session": Arg(_token), "holidays": Arg(lambda n, v: _holidays(n, v), False),
                   "service": Arg(_service, False), "active": Arg(lambda n, v: _flag(n, v), False),
                   "requirements": Arg(lambda n, v: _requirements(n, v, SERVICE_REQUIREMENTS, blank_ok=True), False),
                   "address": Arg(_address, False)},
    "office_settings": {},
    # The staff console (antre web): accounts, sessions, the audit log (antre/rules/staff.py)
    "staff_login": {"name": Arg(_staff_name), "password": Arg(_secret), "session": Arg(_token),
                    "address": Arg(_address, False)},
    "staff_logout": {"session": Arg(_token), "address": Arg(_address, False)},
    "staff_passwd": {"session": Arg(_token), "password": Arg(_secret), "new_password": Arg(_secret),
                     "address": Arg(_address, False)},
    "staff_setup": {"name": Arg(_staff_name), "password": Arg(_secret), "full_name": Arg(_full_name, False),
                    "session": Arg(_token, False), "address": Arg(_address, False)},
    "staff_add": {"session": Arg(_token), "name": Arg(_staff_name), "role": Arg(_choice(_STAFF_ROLES)),
                  "password": Arg(_secret), "full_name": Arg(_full_name, False),
                  "counters": Arg(_counter_list, False), "address": Arg(_address, False)},
    "staff_update": {"session": Arg(_token), "name": Arg(_staff_name), "role": Arg(_choice(_STAFF_ROLES), False),
                     "counters": Arg(_counter_list, False), "disabled": Arg(lambda n, v: _flag(n, v), False),
                     "password": Arg(_secret, False), "full_name": Arg(_full_name, False),
                     "end_sessions": Arg(lambda n, v: _flag(n, v), False), "address": Arg(_address, False)},
    "staff_audit": {"session": Arg(_token),
                    "action": Arg(_string(re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_.]*"), "area.verb", 48)),
                    "subject": Arg(_string(None, "at most 120 characters", 120), False),
                    "detail": Arg(_string(None, "at most 2000 characters", 2000), False),
                    "address": Arg(_address, False)},
}


def _complaint_code(name: str, value: Any) -> str:
    code = clean_complaint_code(value) if isinstance(value, str) and len(value) <= 24 else ""
    if not complaint_code_ok(code):
        raise BadRequest("invalid_argument", f"'{name}' must be a complaint code: P and 12 digits with a valid check digit")
    return code


def _text_list(name: str, value: Any, most: int, limit: int, empty_ok: bool = False) -> list[str]:
    if (not isinstance(value, list) or len(value) > most or (not value and not empty_ok)
            or not all(isinstance(v, str) and v.strip() and len(v) <= limit for v in value)):
        raise BadRequest("invalid_argument", f"'{name}' must be a list of {'0' if empty_ok else '1'}-{most} texts of "
                                             f"1-{limit} characters")
    return value


def _question_code(name: str, value: Any) -> str:
    code = clean_question_code(value) if isinstance(value, str) and len(value) <= 24 else ""
    if not code:
        raise BadRequest("invalid_argument", f"'{name}' must be a question code: T and 10 digits with a valid "
                                             "check digit")
    return code


def _long_text(name: str, value: Any, limit: int = 3000) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadRequest("invalid_argument", f"'{name}' must be a text of 1-{limit} characters")
    return value


def _rating5(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise BadRequest("invalid_argument", f"'{name}' must be 1-5")
    return value


def _tracking_code(name: str, value: Any) -> str:
    code = clean_tracking_code(value) if isinstance(value, str) and len(value) <= 24 else ""
    if not tracking_code_ok(code):
        raise BadRequest("invalid_argument", f"'{name}' must be a tracking code of 12 digits with a valid check digit")
    return code


def _letter_fields(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) > MAX_FIELDS:
        raise BadRequest("invalid_argument", f"'{name}' must be an object of at most {MAX_FIELDS} fields")
    for k, v in value.items():
        if not _ID.fullmatch(k) or not isinstance(v, str) or len(v) > MAX_VALUE:
            raise BadRequest("invalid_argument", f"'{name}' must map field names to texts of at most {MAX_VALUE} "
                                                 f"characters")
    return value


def _requirements(name: str, value: Any, top: int, blank_ok: bool) -> list[str]:
    """A list of at most ``top`` requirement lines of 1-REQUIREMENT_CHARS characters, spaces collapsed: a
    service's (office_set: SERVICE_REQUIREMENTS, blank lines left out as the console's form does) or a letter
    type's (letter_type_update: LETTER_REQUIREMENTS, a blank line refused). One definition: a second one
    further down once won for both commands and refused a service's lines 21-30 the rules and form allow."""
    if (not isinstance(value, list) or len(value) > top
            or not all(isinstance(v, str) and (blank_ok or v.strip()) and len(v) <= REQUIREMENT_CHARS for v in value)):
        raise BadRequest("invalid_argument", f"'{name}' must be a list of at most {top} texts of 1-"
                                             f"{REQUIREMENT_CHARS} characters")
    return [" ".join(v.split()) for v in value if v.strip()]


def _small_int(name: str, value: Any, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise BadRequest("invalid_argument", f"'{name}' must be a whole number from 0 to {top}")
    return value


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest("invalid_argument", f"'{name}' must be a whole number from {low} to {high}")
    return value


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**53:
        raise BadRequest("invalid_argument", f"'{name}' must be a whole number from 1")
    return value


def _year(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 2200:
        raise BadRequest("invalid_argument", f"'{name}' must be a year such as 2026")
    return value


def _reason(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 300:
        raise BadRequest("invalid_argument", f"'{name}' must be a text of 1-300 characters")
    return " ".join(value.split())


# ---------------------------------------------------------------------- personal data (antre web)

_NAME = re.compile(r"[^\W\d_]+(?:[ .,'\-]+[^\W\d_]+)*\.?")


def normalize_name(value: str) -> str | None:
    """A person's name, spaces tidied; None when it is too short, too long or holds digits (never a NIK)."""
    v = " ".join(value.split())
    return v if 2 <= len(v) <= 60 and _NAME.fullmatch(v) else None


def _phone(name: str, value: Any) -> str:
    phone = normalize_phone(value) if isinstance(value, str) and len(value) <= 40 else None
    if phone is None:
        raise BadRequest("invalid_argument", f"'{name}' must be an Indonesian phone number such as 081234567890")
    return phone


def _person_name(name: str, value: Any) -> str:
    person = normalize_name(value) if isinstance(value, str) and len(value) <= 200 else None
    if person is None:
        raise BadRequest("invalid_argument", f"'{name}' must be a name of 2-60 letters (no digits)")
    return person


def _slot(name: str, value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise BadRequest("invalid_argument", f"'{name}' must be a time HH:MM")
    return value


def _booking_code(name: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > 16 or not booking_code_ok(value):
        raise BadRequest("invalid_argument", f"'{name}' must be a booking code of {BOOKING_CODE_DIGITS} digits "
                                             "with a valid check digit")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest("invalid_argument", f"'{name}' must be true or false")
    return value


@dataclass(frozen=True)
class Request:
    command: str
    request_id: str
    reply_to: str
    """Always the sender's own reply topic, ``{base}/reply/{client_id}``."""
    args: dict[str, Any]
    sent_at: float | None = None
    sender: Sender | None = None


def peek_request_id(payload: bytes) -> str | None:
    """Best effort request_id of a payload that failed validation, to echo it in the error reply."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    rid = data.get("request_id") if isinstance(data, dict) else None
    return rid if _valid_request_id(rid) else None


def _valid_request_id(rid: Any) -> bool:
    # Printable excludes lone surrogates (category Cs), so every accepted id can be sent back as UTF-8.
    return isinstance(rid, str) and bool(_REQUEST_ID.fullmatch(rid)) and rid.isprintable()


# A sender's clock: anything outside 1970..2286 is not a clock reading (and would overflow arithmetic).
_MAX_SENT_AT = 1e10


def parse_request(topic: str, payload: bytes, topics: Topics, max_bytes: int) -> Request:
    """Validates a command message. Raises BadRequest/CommandError with the error code to reply.

    The sender comes from the topic (``{base}/cmd/{role}/{client_id}/{command}``), which the broker
    enforces; the reply always goes to the sender's own reply topic.
    """
    sender = topics.sender(topic)
    if sender is None:
        raise BadRequest("invalid_topic", f"commands go to {topics.base}/cmd/ROLE/CLIENT_ID/COMMAND")
    if len(payload) > max_bytes:
        raise BadRequest("payload_too_large", f"payload is {len(payload)} bytes; the limit is {max_bytes}")
    try:
        data = json.loads(payload)
    except UnicodeDecodeError:
        raise BadRequest("invalid_json", "payload is not UTF-8 text") from None
    except (ValueError, RecursionError):
        raise BadRequest("invalid_json", "payload is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("invalid_payload", "payload must be a JSON object")
    command = sender.command
    if command not in COMMANDS:
        raise CommandError("unknown_command", f"unknown command '{command}' (commands: {', '.join(COMMANDS)})")
    rid = data.pop("request_id", None)
    if not _valid_request_id(rid):
        raise BadRequest("invalid_request_id", "'request_id' must be a string of 1-64 printable characters")
    own_reply = topics.reply(sender.client_id)
    reply_to = data.pop("reply_to", None)
    if reply_to is not None and reply_to != own_reply:
        raise BadRequest("invalid_reply_to", f"'reply_to' may only be the sender's own reply topic, {own_reply}")
    sent_at = data.pop("sent_at", None)
    if sent_at is not None and (isinstance(sent_at, bool) or not isinstance(sent_at, (int, float))
                                or not 0 <= sent_at <= _MAX_SENT_AT):
        raise BadRequest("invalid_argument", "'sent_at' must be a number (seconds since 1970, the sender's clock)")
    spec = COMMANDS[command]
    for key in data:
        if key not in spec:
            raise BadRequest("unknown_argument", f"'{command}' has no argument '{key}' "
                                                 f"(arguments: {', '.join(spec) or 'none'})")
    args = {}
    for name, arg in spec.items():
        if name not in data or data[name] is None:
            if arg.required:
                raise BadRequest("missing_argument", f"'{command}' needs '{name}'")
            continue
        if _has_surrogate(data[name]):
            raise BadRequest("invalid_argument", f"'{name}' holds text that is not Unicode (a lone surrogate): "
                                                 f"it could be neither stored nor sent back")
        args[name] = arg.check(name, data[name])
    return Request(command, rid, own_reply, args, None if sent_at is None else float(sent_at), sender)


def _has_surrogate(value: Any) -> bool:
    """A lone UTF-16 surrogate anywhere in ``value`` (JSON carries one as ``\\ud800``, UTF-8 cannot): such a text
    passed the checks of free text (a reason, requirements, a purpose) and then failed in SQLite or in sizing
    a reply, answered ``internal_error``."""
    todo = [value]   # a walk, not recursion: a nesting as deep as JSON allows must not raise RecursionError
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            if not v.isascii() and any("\ud800" <= c <= "\udfff" for c in v):
                return True
        elif isinstance(v, list):
            todo.extend(v)
        elif isinstance(v, dict):
            todo.extend(v)
            todo.extend(v.values())
    return False


# ---------------------------------------------------------------------- who may send what

COUNTER_COMMANDS = ("call_next", "recall", "skip", "complete", "transfer", "pause", "resume", "bring_back",
                    "call_number")
STAFF_COMMANDS = ("staff_login", "staff_logout", "staff_passwd", "staff_setup", "staff_add", "staff_update",
                  "staff_audit", "office_set", "office_settings")
PORTAL_COMMANDS = tuple(c for c in COMMANDS if c.startswith(("complaint_", "news_", "faq_", "question_")))
#: "Semua urusan saya": the website's login only (and admin).
ITEMS_COMMANDS = tuple(c for c in COMMANDS if c.startswith("items_"))
#: The commands each sending role may give. The broker's ACL grants exactly these topics
#: (antre/ops/broker.py), and the service checks them again with the arguments (:func:`authorize`).
ROLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "kiosk": ("issue_ticket", "check_in", "rate", "letter_request", "letter_status", "letter_pickup",
              "letter_catalogue", "ask", "complaint_submit", "question_submit", "question_status",
              # the QR/barcode reader's live status of a scanned code (read-only, as the portal's /cek)
              "ticket_status", "complaint_status", "letter_verify", "booking_status",
              # the Tanya jawab screen's buttons: the console's FAQ, live (read-only)
              "faq_common"),
    "counter": COUNTER_COMMANDS,
    # The residents' website, and its staff page's service switches.
    # The residents' website with its letters, its staff console (accounts, sessions, the audit log) and
    # the console's virtual counter (counter commands with a person's session only).
    "web": ("issue_ticket", "book", "cancel_booking", "ticket_status", "booking_status", "booking_slots", "web_info", "set_web", "ask",
            *(c for c in COMMANDS if c.startswith("letter_") and c != "letter_pickup"))
           + STAFF_COMMANDS + COUNTER_COMMANDS + PORTAL_COMMANDS + ITEMS_COMMANDS,
    # Staff tools and the operator: everything (an admin login may also write any topic).
    "admin": tuple(COMMANDS),
}


def authorize(req: Request, counters: Callable[[str], "set[str] | frozenset[str]"]) -> None:
    """Raises :class:`Forbidden` unless ``req.sender`` may give this command with these arguments.

    ``counters(client_id)`` is the set of counters a counter device may operate (from the service's
    configuration, or the device's own presence). Kiosks issue kiosk and priority tickets and check
    bookings in at the kiosk; only the website issues web tickets; a counter device operates only its
    own counters; an admin login may do anything.
    """
    sender = req.sender
    if sender is None or sender.role == "admin":
        return
    if req.command not in ROLE_COMMANDS.get(sender.role, ()):
        raise Forbidden("forbidden", f"a {sender.role} may not send '{req.command}'")
    channel = req.args.get("channel")
    if sender.role == "kiosk" and channel not in (None, "kiosk"):
        raise Forbidden("forbidden", f"a kiosk issues kiosk tickets, not channel '{channel}'")
    if sender.role == "web" and req.command == "issue_ticket" and channel != "web":
        raise Forbidden("forbidden", "the website issues web tickets only (channel 'web')")
    if sender.role == "web" and req.command == "letter_request" and channel != "web" and not (
            channel == "counter" and "session" in req.args):
        raise Forbidden("forbidden", "the website requests letters on channel 'web', or 'counter' for a signed-in "
                                     "person (its 'session')")
    if req.command == "complaint_submit" and sender.role in ("kiosk", "web") and channel != sender.role:
        # The channel is the complaint's recorded source (reports, the inbox): a login files as itself only.
        raise Forbidden("forbidden", f"a {sender.role} files complaints on channel '{sender.role}' only")
    if req.command == "question_submit" and sender.role in ("kiosk", "web") and channel != sender.role:
        raise Forbidden("forbidden", f"a {sender.role} leaves questions on channel '{sender.role}' only")
    if sender.role == "kiosk" and req.command == "letter_request" and "session" in req.args:
        raise Forbidden("forbidden", "a kiosk requests letters for residents, not in a staff session")
    if sender.role == "web" and req.command in COUNTER_COMMANDS and "session" not in req.args:
        raise Forbidden("forbidden", "the website operates a counter only for a signed-in person (its 'session')")
    if sender.role == "counter":
        own = counters(sender.client_id)
        if req.args["counter"] not in own:
            raise Forbidden("forbidden", f"counter device '{sender.client_id}' operates "
                                         f"{', '.join(sorted(own)) or 'no counter'}, not '{req.args['counter']}'")


class Freshness:
    """Spots commands that reach the service long after they were sent, whatever the sender's clock says.

    A command may carry ``sent_at`` (the sender's wall clock). Clocks of devices without a time source
    can be off by hours, so the age is not ``now - sent_at`` but how much later than usual a command
    from that sender arrives: per sender (its client id, as the broker enforces it) the smallest ``now - sent_at`` seen is its
    clock offset. A command arriving more than ``max_age`` seconds later than that is stale: a "next"
    pressed during a network hiccup must not call someone minutes later. Two stale-looking commands in a
    row with the same offset mean the sender's clock was set back: the offset is learnt again.
    """

    def __init__(self, max_age: float):
        self.max_age = max_age
        self._offset: dict[str, float] = {}
        self._suspect: dict[str, float] = {}

    def observe(self, sender: str, sent_at: float, now: float) -> None:
        """Learns from any message the sender stamped (e.g. its presence), without judging it."""
        delta = now - sent_at
        if delta < self._offset.get(sender, float("inf")):
            self._offset[sender] = delta

    def age(self, sender: str | None, sent_at: float | None, now: float) -> float | None:
        """The command's delay beyond normal when it is stale, else None."""
        if not self.max_age or sender is None or sent_at is None:
            return None
        delta = now - sent_at
        offset = self._offset.get(sender)
        if offset is None or delta <= offset:
            self._offset[sender] = delta
            self._suspect.pop(sender, None)
            return None
        late = delta - offset
        if late <= self.max_age:
            self._suspect.pop(sender, None)
            return None
        previous = self._suspect.get(sender)
        if previous is not None and abs(delta - previous) < 1.0:
            self._offset[sender] = delta   # the sender's clock moved back: learn the new offset
            self._suspect.pop(sender, None)
            return None
        self._suspect[sender] = delta
        return late


def ok_reply(request_id: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"request_id": request_id, "ok": True, "result": result}


def error_reply(request_id: str | None, code: str, message: str,
                details: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"request_id": request_id, "ok": False, "error": error}


def read_object(payload: bytes, what: str = "message") -> dict[str, Any] | None:
    """A received JSON object (state, event, status), or None with a log line when it is not one."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if not isinstance(data, dict):
        logging.getLogger("antre.protocol").warning("unreadable %s", what)
        return None
    return data


def encode(data: dict[str, Any]) -> bytes:
    """UTF-8 JSON. Total: text that UTF-8 cannot hold (a lone surrogate) is written as a JSON escape."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode()


def read_presence(topics: Topics, topic: str, payload: bytes) -> tuple[str, str, dict[str, Any] | None] | None:
    """``(role, client_id, presence)`` of a retained presence message, trusted by its topic.

    The broker lets only the login ``client_id`` of role ``role`` write ``{base}/status/{role}/{client_id}``,
    so ``component`` and ``client_id`` in the returned presence are the topic's, whatever the payload
    claims (a kiosk cannot say it is the service). ``presence`` is None when the message was cleared
    (empty payload) or is unreadable. None for a topic that is not a presence topic.
    """
    who = topics.presence_of(topic)
    if who is None:
        return None
    data = read_object(payload, f"presence on {topic}") if payload else None
    if data is not None:
        data = data | {"component": who[0], "client_id": who[1]}
    return who[0], who[1], data


def status_payload(component: str, client_id: str, online: bool, **extra: Any) -> dict[str, Any]:
    return {"online": online, "component": component, "client_id": client_id, "protocol": PROTOCOL_VERSION,
            "time": round(time.time(), 3)} | extra


__all__ = ["Topics", "Sender", "ROLES", "ROLE_COMMANDS", "COUNTER_COMMANDS", "STAFF_COMMANDS", "authorize", "COMMANDS", "Freshness",
           "EVENT_TYPES", "Request", "parse_request", "peek_request_id", "ok_reply",
           "error_reply", "encode", "read_object", "read_presence", "status_payload", "CommandError", "normalize_phone", "normalize_name",
           "BOOKING_CODE_DIGITS", "booking_code_ok", "check_digit", "new_booking_code"]


#: A resend request asks for at most this many numbers; the hub asks again for the rest.
DISTRICT_RESEND_MAX = 2000


def read_resend(payload: bytes) -> tuple[int, int] | None:
    """``(first, last)`` of a district resend request ``{"from": first, "to": last}`` (docs/protocol.md,
    "District"), or None with a log line when it is not one: integers, 1 <= first <= last < 2^53. A range
    longer than :data:`DISTRICT_RESEND_MAX` is cut to its first numbers (the hub asks again)."""
    data = read_object(payload, "district resend request")
    if data is None:
        return None
    first, last = data.get("from"), data.get("to")
    if (not isinstance(first, int) or not isinstance(last, int) or isinstance(first, bool)
            or isinstance(last, bool) or not 1 <= first <= last < 2**53 or set(data) - {"from", "to", "by"}):
        logging.getLogger("antre.protocol").warning("refused district resend request %.200r", payload)
        return None
    return first, min(last, first + DISTRICT_RESEND_MAX - 1)
