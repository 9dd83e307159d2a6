"""Messages to residents: the durable outbox, opt-in, opt-out, budgets, and SMS self-service.

A plug-in of the queue (:func:`handlers`, listed in ``antre/service/server.py``). Every message is a row of
``outbox`` (:class:`~antre.storage.models.OutboxMessage`) written **in the transaction of the event that
causes it**: the counter's call and its "dipanggil" SMS are committed together or not at all. Each row has a
``key`` naming its event (``t42:called``), unique, so an event never makes two messages, whatever is retried.
The delivery worker (``antre/service/notify_worker.py``) hands pending rows to a channel (gammu-smsd) and
records what became of them; docs/sms.md states the exact guarantee.

Events (``[notify]`` in the configuration):

- a remote ticket taken with ``notify: true`` (or by SMS ``ANTRE``): its number, the people ahead and the
  status link (``[web] public_url``);
- "giliran Anda sebentar lagi" once, when ``near_ahead`` people or fewer are ahead (checked whenever the
  queue moves);
- called (the first call only), and marked no-show;
- a booking made with ``notify: true``: a reminder 24 hours and an hour before its slot (the queue's tick);
- other modules (letters, complaints) call :meth:`NotifyRules.notify` with a key of their own.

Money and consent: nothing is sent to a number that did not ask (a form's opt-in, or its own SMS); ``STOP``
ends notifications to a number (``MULAI`` starts them again; answers to its own SMS are still sent); a
message beyond the office's daily budget or the number's is recorded as ``skipped`` with the reason, never
sent. Phone numbers in the outbox and subscriptions are wiped ``retention_days`` after their day; opt-outs
keep only a keyed hash of the number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from antre.errors import CommandError
from antre.rules import keywords
from antre.rules.booking_code import format_booking_code
from antre.rules.outcome import Outcome
from antre.rules.sms_text import mask, msisdn, phone_key, plain, sms_parts
from antre.storage.models import (
    BOOKED, CALLED, FAILED, HANDED_OFF, PENDING, SENT, SKIPPED, WAITING, Booking, ChatContact, ChatLink, Meta,
    NotifySubscription, OutboxMessage, SmsOptOut, Ticket,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.appointments import WebRules
    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

SMS, TELEGRAM, WHATSAPP = "sms", "telegram", "whatsapp"
#: The outbox's channels: a row is ``(channel, address)``; the address is a phone number (sms, ``08...``), a
#: chat id (telegram) or a WhatsApp id (whatsapp: international digits, ``628...``).
CHANNELS = (SMS, TELEGRAM, WHATSAPP)
INTERNET = (TELEGRAM, WHATSAPP)
#: A ticket's channel when it was taken by a message (``ANTRE KTP``): counted as such in reports.
TICKET_CHANNEL = {SMS: "sms", WHATSAPP: "whatsapp"}
#: Kinds that answer a resident's own SMS: sent even after STOP (they asked).
REPLIES = frozenset({"reply", "created", "question_answer"})   # question_answer: the staff answering their question
SMS_NAME = "Pengirim SMS"   # the name a ticket taken by SMS carries (residents do not send theirs)

WEEKDAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
REFUSALS = {
    "quota_reached": "Kuota {service} hari ini sudah habis. Silakan coba lagi besok.",
    "web_share_reached": "Jatah nomor dari rumah untuk {service} hari ini sudah habis. Silakan ambil nomor di kantor.",
    "phone_limit_reached": "Nomor HP ini sudah mencapai batas nomor antrean hari ini.",
    "remote_disabled": "{service} sedang tidak menerima nomor dari rumah. Silakan ambil nomor di kantor.",
    "office_closed": "Kantor sedang tutup. Nomor hanya bisa diambil pada jam buka. Ketik JAM untuk jam buka.",
    "service_inactive": "{service} tidak tersedia hari ini.",
    "numbers_exhausted": "Nomor antrean {service} hari ini sudah habis. Silakan coba lagi besok.",
}


@dataclass(frozen=True)
class Sender:
    """Who wrote to the office: a channel and an address on it (see :data:`CHANNELS`).

    ``phone`` is the sender's phone number when the channel gives one (SMS; WhatsApp's id is the number),
    None on Telegram (a chat id is no number): commands that need a number (ANTRE, BATAL) say so there."""
    channel: str
    address: str

    @property
    def phone(self) -> str | None:
        if self.channel == SMS:
            return self.address
        if self.channel == WHATSAPP:
            return msisdn(self.address)
        return None


#: A link code: the item's key prefix and 8 characters of a keyed hash (``t42-k3xq7mza``). Typed or sent by a
#: deep link (Telegram ``/start t42-k3xq7mza``), it links a chat to that item; a guessed one links nothing.
LINK_CODE = re.compile(r"(?<![a-z0-9])((?:t|b|letter|complaint)\d{1,9})-([a-z2-7]{8})(?![a-z0-9])", re.I)


def fit(*variants: str) -> str:
    """The first of ``variants`` (longest first) that fits one SMS; the first when none does (multipart)."""
    return next((v for v in variants if sms_parts(plain(v)) == 1), variants[0])


class NotifyRules:
    """The notification rules of one :class:`QueueService`."""

    def __init__(self, q: "QueueService"):
        self.q = q
        self.cfg = q.cfg
        self.n = q.cfg.notify
        self._inner_issue = q.handlers["issue_ticket"]
        self._inner_book = q.handlers["book"]
        self._inner_web_info = q.handlers["web_info"]
        self._inner_ticket_status = q.handlers["ticket_status"]
        # Status commands of the other items a chat may follow (their plug-ins register before this one).
        self._inner_status = {name: q.handlers[name] for name in ("booking_status", "letter_status",
                                                                   "complaint_status") if name in q.handlers}
        self.web: "WebRules" = q.handlers["ticket_status"].__self__   # the appointments plug-in's rules
        #: Answers the FAQ assistant gives (``fn(question) -> answer or None``); see antre/rules/faq.py.
        self.faq: Callable[[str], str | None] = lambda question: None

    def handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {"issue_ticket": self.issue_ticket, "book": self.book, "sms_received": self.sms_received,
                "message_received": self.message_received, "web_info": self.web_info, "ask": self.ask,
                "ticket_status": self.ticket_status} | {
                    name: self._with_link_code(name) for name in self._inner_status}

    def ask(self, s: "Session", now: datetime, question: str) -> Outcome:
        """The FAQ assistant for the website and the kiosk: ``{"answer": text or None}`` (None: not sure, or
        no FAQ; a person should answer). The question is not logged: residents write names and numbers."""
        return Outcome({"answer": self.answer(s, question.strip()) if question.strip() else None}, changed=False)

    def answer(self, s: "Session", question: str) -> str | None:
        """The FAQ's answer (the office's entries in the database: antre/rules/questions.py), or None."""
        book = self.q.plugins.get("questions")
        return book.answer(s, question) if book is not None else self.faq(question)

    def web_info(self, s: "Session", now: datetime) -> Outcome:
        """The web's settings plus ``sms``: whether its forms offer SMS (the opt-in box)."""
        outcome = self._inner_web_info(s, now)
        return Outcome(outcome.result | {"sms": self.n.sms}, changed=False)

    def ticket_status(self, s: "Session", now: datetime, **args: Any) -> Outcome:
        """The ticket's status plus ``link_code`` when an internet channel is on: the code a chat sends (a
        Telegram deep link, a WhatsApp message) to follow this ticket. The status page is public by number, so
        the code gives nothing the page does not: it only proves the chat asked about a ticket that exists."""
        outcome = self._inner_ticket_status(s, now, **args)
        if not any(self.channel_on(c) for c in INTERNET):
            return outcome
        r = outcome.result
        tid = s.scalar(select(Ticket.id).where(Ticket.business_date == date.fromisoformat(r["business_date"]),
                                               Ticket.number == r["number"]))
        code = self.link_code(s, f"t{tid}") if tid is not None else None
        return Outcome(outcome.result | {"link_code": code}, changed=False)

    def _with_link_code(self, name: str) -> Callable[..., Outcome]:
        """``name`` (booking_status, letter_status, complaint_status) answering ``link_code`` too, as
        :meth:`ticket_status` does. Only the holder of the item's own code (the resident) sees these answers."""
        inner = self._inner_status[name]

        def status(s: "Session", now: datetime, **args: Any) -> Outcome:
            outcome = inner(s, now, **args)
            if not any(self.channel_on(c) for c in INTERNET) or "code" not in outcome.result:
                return outcome
            from antre.storage.models import Complaint, LetterRequest
            prefix, model = {"booking_status": ("b", Booking), "letter_status": ("letter", LetterRequest),
                             "complaint_status": ("complaint", Complaint)}[name]
            item_id = s.scalar(select(model.id).where(model.code == outcome.result["code"]))
            code = self.link_code(s, f"{prefix}{item_id}") if item_id is not None else None
            return Outcome(outcome.result | {"link_code": code}, outcome.events, changed=outcome.changed)

        for attr in ("batch_safe",):
            if hasattr(inner, attr):
                setattr(status, attr, getattr(inner, attr))
        return status

    # ------------------------------------------------------------------ channels

    def channel_on(self, channel: str) -> bool:
        if channel == SMS:
            return self.n.sms
        if channel == TELEGRAM:
            return self.n.telegram.enabled
        if channel == WHATSAPP:
            return self.n.whatsapp.enabled
        return False

    @property
    def any_on(self) -> bool:
        return any(self.channel_on(c) for c in CHANNELS)

    def _limits(self, channel: str) -> tuple[int, int]:
        """(messages or SMS parts per office per day, per address per day) of ``channel``."""
        if channel == TELEGRAM:
            return self.n.telegram.daily_budget, self.n.telegram.chat_daily_limit
        if channel == WHATSAPP:
            return self.n.whatsapp.daily_budget, self.n.whatsapp.number_daily_limit
        return self.n.daily_budget, self.n.number_daily_limit

    def address_key(self, s: "Session", channel: str, address: str) -> str:
        """The keyed hash of an address: budgets and opt-outs per channel (an SMS number's key is its own,
        as before channels; a Telegram chat's or WhatsApp id's is of ``channel:address``)."""
        return phone_key(self.secret(s), address if channel == SMS else f"{channel}:{address}")

    def link_code(self, s: "Session", item: str) -> str | None:
        """The code that links a chat to ``item`` (``t42``), or None while the database has no key yet (a
        read-only command does not make one; the tick does once a channel is on)."""
        meta = s.get(Meta, "notify.key")
        if meta is None:
            return None
        digest = hmac.new(bytes.fromhex(meta.value), b"link:" + item.encode(), hashlib.sha256).digest()
        return f"{item}-{base64.b32encode(digest).decode()[:8].lower()}"

    # ------------------------------------------------------------------ the outbox

    def secret(self, s: "Session") -> bytes:
        """The key of the numbers' hashes: made once per database, kept in ``meta``.

        Read in every transaction, not kept in memory: a key drawn in a transaction that is rolled back is
        never saved, and remembering it would make opt-outs and budgets hashed with it stop matching after a
        restart (the rating codes' key is read the same way). One primary-key read per transaction."""
        meta = s.get(Meta, "notify.key")
        if meta is None:
            meta = Meta(key="notify.key", value=secrets.token_hex(32))
            s.add(meta)
            s.flush()
        return bytes.fromhex(meta.value)

    def notify(self, s: "Session", now: datetime, key: str, kind: str, phone: str | None, body: str,
               channel: str = SMS) -> OutboxMessage | None:
        """Puts a message in the outbox, in the caller's transaction; idempotent on ``key``.

        With ``channel`` SMS (the default) it is news about an item: an SMS to ``phone`` (None: no SMS) and
        the same text to every chat that follows the item (:class:`ChatLink`; the item is the key's part
        before the first ``:``, ``letter12`` in ``letter12:ready``), each a row of its own (key
        ``<key>@<link id>``). The hook other modules call (letters "siap diambil", complaints answered)::

            notify_rules.notify(session, now, f"letter{letter.id}:ready", "letter_ready", phone,
                                "Surat Anda sudah siap diambil di Kantor Desa Sukamaju.")

        With another channel it is one message to one address on that channel, and nothing else: an answer
        to a chat, or a staff reply sent back on the channel a question came from::

            notify_rules.notify(session, now, f"ask{q.id}:reply", "reply", q.address, text, channel=q.channel)

        Returns the SMS row, else the first chat's row (an existing one for a key already used), or None when
        nothing was written (the channel is off, no address, nobody follows the item)."""
        if channel != SMS:
            return self.put(s, now, key, kind, channel, phone, body)
        row = self.put(s, now, key, kind, SMS, phone, body) if phone else None
        chats = self._to_followers(s, now, key, kind, body)
        return row or (chats[0] if chats else None)

    def put(self, s: "Session", now: datetime, key: str, kind: str, channel: str, address: str | None,
            body: str) -> OutboxMessage | None:
        """One row of the outbox: ``body`` to ``address`` on ``channel``, under the channel's opt-out and
        budgets (``pending``, or ``skipped`` with the reason). Idempotent on ``key``; None when the channel
        is off or there is no address."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")
        if not self.channel_on(channel) or not address:
            return None
        existing = s.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).first()
        if existing is not None:
            return existing
        if channel == SMS:
            body = plain(body)
            parts = sms_parts(body)
        else:
            body, parts = body[:4000], 1   # one message (Telegram takes 4096 characters, WhatsApp 4096)
        pkey = self.address_key(s, channel, address)
        office_limit, address_limit = self._limits(channel)
        today = self.q.business_date(now)
        state, reason = PENDING, None
        if kind not in REPLIES and s.get(SmsOptOut, pkey) is not None:
            state, reason = SKIPPED, "opted_out"
        else:
            spent = func.coalesce(func.sum(OutboxMessage.parts), 0)
            mine = (OutboxMessage.business_date == today, OutboxMessage.channel == channel,
                    OutboxMessage.state != SKIPPED)
            office = s.scalar(select(spent).where(*mine)) or 0
            own = s.scalar(select(spent).where(*mine, OutboxMessage.phone_key == pkey)) or 0
            if office + parts > office_limit:
                state, reason = SKIPPED, "office_budget"
            elif own + parts > address_limit:
                state, reason = SKIPPED, "number_budget"
        row = OutboxMessage(key=key, kind=kind, channel=channel, phone=address, phone_key=pkey, body=body,
                            parts=parts, business_date=today, state=state, reason=reason, attempt=0,
                            # Due now by either clock: the clock's time may be a day ahead (doubted), and a
                            # message not handed off before the clock is set right would wait that day.
                            next_attempt_at=min(now, self.q.recorded_time(now)),
                            created_at=self.q.recorded_time(now))   # (the held day's)
        s.add(row)
        s.flush()
        if state == SKIPPED:
            log.info("outbox %s (%s to %s by %s): not sent, %s", key, kind, mask(address), channel, reason)
        else:
            log.info("outbox %s: %s to %s by %s, %d part(s)", key, kind, mask(address), channel, parts)
        return row

    def _to_followers(self, s: "Session", now: datetime, key: str, kind: str, body: str) -> list[OutboxMessage]:
        item = key.split(":", 1)[0]
        rows = []
        for link in s.scalars(select(ChatLink).where(ChatLink.item == item).order_by(ChatLink.id)).all():
            row = self.put(s, now, f"{key}@{link.id}", kind, link.channel, link.address, body)
            if row is not None:
                rows.append(row)
        return rows

    def link(self, s: "Session", now: datetime, who: Sender, code: str) -> str | None:
        """Links ``who``'s chat to the item of link code ``code``; its answer, or None for a code that is not
        one (a wrong hash, an item that does not exist): the caller says so without saying which."""
        m = LINK_CODE.fullmatch(code.strip())
        if m is None:
            return None
        item = m[1].lower()
        right = self.link_code(s, item)
        if right is None or not hmac.compare_digest(right, f"{item}-{m[2].lower()}"):
            return None
        what = self.follow(s, now, who, item)
        if what is None:
            return None
        return (f"{self._office()}: kabar tentang {what} akan dikirim ke sini. Ketik STATUS untuk keadaannya, "
                f"STOP untuk berhenti.")

    def follow(self, s: "Session", now: datetime, who: Sender, item: str) -> str | None:
        """``who``'s chat follows ``item`` (its news goes there: :meth:`_to_followers`); what the item is called,
        or None when it does not exist. Also for an item the chat itself made (``ADUAN`` by Telegram)."""
        today = self.q.business_date(now)
        what, keep = self._item_words(s, item, today)
        if what is None:
            return None
        if s.scalar(select(ChatLink.id).where(ChatLink.channel == who.channel, ChatLink.address == who.address,
                                              ChatLink.item == item)) is None:
            s.add(ChatLink(channel=who.channel, address=who.address, item=item,
                           business_date=today + timedelta(days=keep), created_at=now))
            s.flush()
        log.info("%s chat %s follows %s", who.channel, mask(who.address), item)
        return what

    def _item_words(self, s: "Session", item: str, today: date) -> tuple[str | None, int]:
        """What ``item`` is called in a message, and for how many days past today a link to it is kept."""
        kind, num = re.fullmatch(r"([a-z]+)(\d+)", item).groups()
        if kind == "t":
            t = s.get(Ticket, int(num))
            return (f"nomor antrean {t.number}", 0) if t is not None else (None, 0)
        if kind == "b":
            b = s.get(Booking, int(num))
            return (f"janji temu {format_booking_code(b.code)}", max(0, (b.business_date - today).days)) if b else (None, 0)
        from antre.storage.models import Complaint, LetterRequest
        if kind == "letter":
            r = s.get(LetterRequest, int(num))
            return ("permohonan surat Anda", 60) if r is not None else (None, 0)
        if kind == "complaint":
            c = s.get(Complaint, int(num))
            return ("pengaduan Anda", 60) if c is not None else (None, 0)
        return None, 0

    def subscribe(self, s: "Session", now: datetime, phone: str, ticket_id: int | None = None,
                  booking_id: int | None = None, near_done: bool = False, day: date | None = None
                  ) -> NotifySubscription:
        """Opt-in for one ticket or booking; kept until ``retention_days`` after ``day`` (the booking's day)."""
        sub = NotifySubscription(ticket_id=ticket_id, booking_id=booking_id, channel=SMS, phone=phone,
                                 business_date=day or self.q.business_date(now), near_done=int(near_done),
                                 created_at=now)
        s.add(sub)
        s.flush()
        return sub

    # ------------------------------------------------------------------ words

    def _office(self) -> str:
        return self.cfg.office.name

    def _status_link(self, t: Ticket) -> str:
        base = self.cfg.web.public_url.rstrip("/")
        return f" Pantau: {base}/status/{t.business_date.isoformat()}/{t.number}" if base else ""

    def _created_text(self, t: Ticket, ahead: int, minutes: int) -> str:
        svc = self.q.services.get(t.service_code)
        name = (svc.short_name or svc.name) if svc else t.service_code
        wait = f"{ahead} orang di depan Anda" + (f", sekitar {minutes} menit" if ahead and minutes else "")
        link = self._status_link(t)
        return fit(f"{self._office()}: nomor antrean Anda {t.number} ({name}). {wait}.{link} Balas STOP bila tak "
                   f"mau SMS lagi.",
                   f"{self._office()}: nomor antrean Anda {t.number} ({name}). {wait}.{link} STOP: berhenti SMS.",
                   f"{self._office()}: nomor antrean Anda {t.number}. {wait}.{link} STOP: berhenti SMS.",
                   f"{self._office()}: nomor antrean Anda {t.number}. {ahead} orang di depan.{link}")

    # ------------------------------------------------------------------ wrapped commands

    def issue_ticket(self, s: "Session", now: datetime, notify: bool | None = None, **args: Any) -> Outcome:
        outcome = self._inner_issue(s, now, **args)
        phone = args.get("phone")
        if notify and phone and self.n.sms:
            t = s.scalars(select(Ticket).where(Ticket.business_date == self.q.business_date(now),
                                               Ticket.number == outcome.result["number"])).one()
            self._ticket_created(s, now, t, phone, outcome.result.get("ahead", 0),
                                 outcome.result.get("estimated_wait_minutes", 0))
        return outcome

    issue_ticket.batch_safe = True   # refusals come from the wrapped command, before anything is written

    def book(self, s: "Session", now: datetime, notify: bool | None = None, **args: Any) -> Outcome:
        outcome = self._inner_book(s, now, **args)
        if notify and self.n.sms:
            b = s.scalars(select(Booking).where(Booking.code == outcome.result["code"])).one()
            self.subscribe(s, now, args["phone"], booking_id=b.id, day=b.business_date)
        return outcome

    def _ticket_created(self, s: "Session", now: datetime, t: Ticket, phone: str, ahead: int, minutes: int,
                        who: Sender | None = None) -> None:
        if who is None or who.channel == SMS:
            self.subscribe(s, now, phone, ticket_id=t.id, near_done=ahead <= self.n.near_ahead)
            self.notify(s, now, f"t{t.id}:created", "created", phone, self._created_text(t, ahead, minutes))
            return
        # Taken by a chat (WhatsApp ANTRE): the chat follows the ticket and gets its news there.
        s.add(ChatLink(channel=who.channel, address=who.address, item=f"t{t.id}", business_date=t.business_date,
                       created_at=now))
        s.flush()
        self.put(s, now, f"t{t.id}:created@{who.channel}", "created", who.channel, who.address,
                 self._created_text(t, ahead, minutes))

    # ------------------------------------------------------------------ events

    def after_command(self, s: "Session", now: datetime, command: str, outcome: Outcome) -> None:
        """Runs in each command's transaction (``QueueService.outcome_hooks``): messages for its events."""
        if not self.any_on or not outcome.events:
            return
        try:
            self._after(s, now, outcome)
        except SQLAlchemyError:
            raise   # the transaction is lost: the command is not applied either (and is answered so)
        except Exception:  # noqa: BLE001 - a fault in the wording of a message never stops the queue
            log.exception("notifications for %s could not be made; the command goes on without them", command)

    def _after(self, s: "Session", now: datetime, outcome: Outcome) -> None:
        if outcome.result.get("booking") and any(e == "ticket_issued" for e, _ in outcome.events):
            self._checked_in(s, now, outcome.result)
        moved = False
        for event, data in outcome.events:
            if event == "ticket_called" and not data.get("recall"):
                tid, phone = self._followed(s, data)
                if tid is not None:
                    where = (data.get("counter") or {}).get("name") or "loket"
                    self.notify(s, now, f"t{tid}:called", "called", phone,
                                f"{self._office()}: nomor {data['number']} dipanggil sekarang. "
                                f"Silakan menuju {where}.")
                moved = True
            elif event == "ticket_skipped":
                tid, phone = self._followed(s, data)
                if tid is not None:
                    self.notify(s, now, f"t{tid}:no_show", "no_show", phone,
                                f"{self._office()}: nomor {data['number']} dilewati karena tidak ada saat "
                                f"dipanggil. Bila masih di kantor, silakan lapor ke petugas.")
                moved = True
            elif event in ("ticket_transferred", "ticket_completed"):
                moved = True
        if moved:
            self._near(s, now)

    def _checked_in(self, s: "Session", now: datetime, result: dict[str, Any]) -> None:
        """A booking with opt-in checked in: its ticket gets the queue's messages too (near, called)."""
        row = s.execute(select(NotifySubscription.phone).join(Booking, Booking.id == NotifySubscription.booking_id)
                        .where(Booking.code == result["booking"])).first()
        if row is None:
            return
        t = s.scalars(select(Ticket).where(Ticket.business_date == date.fromisoformat(result["business_date"]),
                                           Ticket.number == result["number"])).first()
        if t is not None and s.scalar(select(NotifySubscription.id).where(NotifySubscription.ticket_id == t.id)) is None:
            self.subscribe(s, now, row.phone, ticket_id=t.id, near_done=result.get("ahead", 0) <= self.n.near_ahead)

    def _followed(self, s: "Session", data: dict[str, Any]) -> tuple[int | None, str | None]:
        """(ticket id, SMS number or None) of an event's ticket when someone follows it (SMS or a chat)."""
        sub = self._subscription_of(s, data)
        if sub is not None:
            return sub.ticket_id, sub.phone
        if not any(self.channel_on(c) for c in INTERNET):
            return None, None
        t = s.scalars(select(Ticket.id).where(Ticket.business_date == date.fromisoformat(data["business_date"]),
                                              Ticket.number == data["number"])).first()
        if t is not None and s.scalar(select(ChatLink.id).where(ChatLink.item == f"t{t}")) is not None:
            return t, None
        return None, None

    def _subscription_of(self, s: "Session", data: dict[str, Any]) -> NotifySubscription | None:
        day = date.fromisoformat(data["business_date"])
        return s.scalars(select(NotifySubscription).join(Ticket, Ticket.id == NotifySubscription.ticket_id)
                         .where(Ticket.business_date == day, Ticket.number == data["number"])).first()

    def _near(self, s: "Session", now: datetime) -> None:
        """'Giliran Anda sebentar lagi' to each subscribed waiting ticket with few enough people ahead."""
        today = self.q.business_date(now)
        # One query (it runs after every call, skip, transfer and completion): each subscribed waiting ticket
        # with the count of those before it (the queue's order: priority, then arrival; as WebRules._ahead).
        other = aliased(Ticket)
        ahead_of = (select(func.count()).select_from(other).where(
            other.business_date == Ticket.business_date, other.state == WAITING,
            other.service_code == Ticket.service_code, other.id != Ticket.id,
            or_(other.priority > Ticket.priority,
                and_(other.priority == Ticket.priority,
                     or_(other.issued_at < Ticket.issued_at,
                         and_(other.issued_at == Ticket.issued_at, other.id < Ticket.id)))))
            .correlate(Ticket).scalar_subquery())
        rows = s.execute(select(NotifySubscription, Ticket, ahead_of)
                         .join(Ticket, Ticket.id == NotifySubscription.ticket_id)
                         .where(NotifySubscription.business_date == today, NotifySubscription.near_done == 0,
                                Ticket.state == WAITING, ahead_of <= self.n.near_ahead)).all()
        todo = [(sub, t, ahead) for sub, t, ahead in rows]
        if any(self.channel_on(c) for c in INTERNET):
            # Tickets only chats follow (taken at the kiosk, followed from the status page): the message's key
            # makes it once however often the queue moves (notify returns the row already written).
            subscribed = set(s.scalars(   # (an SMS subscriber not yet told: its own row above, when near)
                select(NotifySubscription.ticket_id).join(Ticket, Ticket.id == NotifySubscription.ticket_id)
                .where(NotifySubscription.business_date == today, NotifySubscription.near_done == 0,
                       Ticket.state == WAITING)).all())
            ids = {int(i[1:]) for i in s.scalars(select(ChatLink.item).where(
                ChatLink.item.like("t%"), ChatLink.business_date >= today)).all()} - subscribed
            if ids:
                todo += [(None, t, ahead) for t, ahead in s.execute(select(Ticket, ahead_of).where(
                    Ticket.id.in_(ids), Ticket.state == WAITING, Ticket.business_date == today,
                    ahead_of <= self.n.near_ahead)).all()]
        for sub, t, ahead in todo:
            if sub is not None:
                sub.near_done = 1
            people = "tidak ada lagi orang" if ahead == 0 else f"tinggal {ahead} orang"
            self.notify(s, now, f"t{t.id}:near", "near", sub.phone if sub is not None else None,
                        f"{self._office()}: giliran Anda sebentar lagi. Nomor {t.number}, {people} di depan Anda. "
                        f"Mohon segera kembali ke ruang tunggu.")

    def on_tick(self, s: "Session", now: datetime) -> None:
        """The queue's periodic work (``QueueService.tick_hooks``): booking reminders."""
        if any(self.channel_on(c) for c in INTERNET):
            self.secret(s)   # the link codes' key, made in a writing transaction (status reads only read it)
        if not self.any_on or self.q.clock_warning is not None:
            # A doubtful clock (staff see "Jam Pi salah"): a reminder now could be a day early, and its key
            # would keep the right one from going; reminders wait until the clock is right.
            return
        soon = now + timedelta(hours=24)
        rows = s.execute(select(NotifySubscription.phone, Booking).join(
            Booking, Booking.id == NotifySubscription.booking_id)
            .where(Booking.state == BOOKED, Booking.slot_at > now, Booking.slot_at <= soon)).all()
        if any(self.channel_on(c) for c in INTERNET):
            # Bookings only chats follow: notify() with no number writes the chats' rows only.
            ids = {int(i[1:]) for i in s.scalars(select(ChatLink.item).where(ChatLink.item.like("b%"))).all()}
            ids -= {b.id for _, b in rows}
            if ids:
                rows += [(None, b) for b in s.scalars(select(Booking).where(
                    Booking.id.in_(ids), Booking.state == BOOKED, Booking.slot_at > now,
                    Booking.slot_at <= soon)).all()]
        for phone, b in rows:
            svc = self.q.services.get(b.service_code)
            name = (svc.short_name or svc.name) if svc else b.service_code
            local = b.slot_at.astimezone(self.q.tz)
            day = f"{WEEKDAY_NAMES[local.weekday()]} {local.day}/{local.month}"
            text = (f"{self._office()}: pengingat janji temu {name}, {day} pukul {local:%H.%M}. Kode {format_booking_code(b.code)}, "
                    f"tunjukkan di kiosk. Batal: BATAL {b.code}")
            if self.n.reminder_hour_before and b.slot_at - timedelta(hours=1) <= now \
                    and b.created_at < b.slot_at - timedelta(hours=1):
                self.notify(s, now, f"b{b.id}:hour", "reminder_hour", phone, text)
            elif self.n.reminder_day_before and b.created_at < b.slot_at - timedelta(hours=24) \
                    and b.slot_at - timedelta(hours=1) > now:
                self.notify(s, now, f"b{b.id}:day", "reminder_day", phone, text)

    def purge(self, s: "Session", now: datetime) -> None:
        """Phone numbers past their retention: wiped from the outbox, subscriptions deleted (a new-day hook,
        in the transaction that opens the day: ``QueueService.new_day_hooks``). A message still pending, or
        handed to gammu-smsd and never confirmed (``handed_off``: the daemon was stopped, its folders lost), is
        given up (``failed``, ``expired``) and wiped like the others; the SMS worker then deletes its file from
        the daemon's folders (:meth:`antre.service.notify_worker.NotifyWorker.clean`)."""
        today = self.q.clock_date(now)   # the day being opened (a doubtful clock opens none)
        cutoff = today - timedelta(days=self.n.retention_days)
        expired = s.execute(update(OutboxMessage).where(OutboxMessage.business_date < cutoff,
                                                        OutboxMessage.state.in_((PENDING, HANDED_OFF)))
                            .values(state=FAILED, reason="expired", done_at=now)).rowcount
        wiped = s.execute(update(OutboxMessage).where(OutboxMessage.business_date < cutoff,
                                                      or_(OutboxMessage.phone.is_not(None),
                                                          OutboxMessage.handle.is_not(None)),
                                                      OutboxMessage.state.in_((SENT, FAILED, SKIPPED)))
                          .values(phone=None, handle=None)).rowcount   # an SMS file's name holds the number
        gone = s.execute(delete(NotifySubscription).where(NotifySubscription.business_date < cutoff)).rowcount
        gone += s.execute(delete(ChatLink).where(ChatLink.business_date < cutoff)).rowcount
        gone += s.execute(delete(ChatContact).where(ChatContact.business_date < cutoff)).rowcount
        if expired or wiped or gone:
            log.info("retention: %d message(s) given up, %d number(s) wiped from the outbox, %d subscription(s) "
                     "or chat link(s) deleted", expired, wiped, gone)

    # ------------------------------------------------------------------ SMS self-service

    def sms_received(self, s: "Session", now: datetime, phone: str, text: str, message_key: str) -> Outcome:
        """One SMS from a resident: :meth:`message_received` on the SMS channel."""
        return self.message_received(s, now, SMS, phone, text, message_key)

    def message_received(self, s: "Session", now: datetime, channel: str, address: str, text: str,
                         message_key: str) -> Outcome:
        """One message from a resident on any channel: answered on that channel, through the outbox, in this
        transaction (a local command of the service's own parts, never an MQTT command).

        ``message_key`` names the message (a hash of an SMS's spool file name, ``tg<update id>``, ``wa<hash of
        the message id>``): the request id and the answer's key are made from it, so a message read twice
        (after a crash) is answered once. On a chat a link code (``/start t42-k3xq7mza``) follows that item."""
        if channel not in CHANNELS:
            raise CommandError("invalid_argument", f"unknown channel {channel!r}")
        who = Sender(channel, address)
        if channel != SMS:
            contact = s.get(ChatContact, (channel, address))
            if contact is None:
                s.add(ChatContact(channel=channel, address=address, last_inbound_at=now,
                                  business_date=self.q.business_date(now)))
            else:
                contact.last_inbound_at, contact.business_date = now, self.q.business_date(now)
        text = text[:1000]
        code = LINK_CODE.search(text) if channel != SMS else None
        start = re.fullmatch(r"\s*/start(?:@\w+)?(?:\s+(\S.*))?", text, re.I | re.S)
        events: list = []
        if code is not None or (start is not None and start[1]):   # a link code (a deep link's or typed)
            answer = (self.link(s, now, who, code[0]) if code is not None else None) or (
                "Kode tidak dikenali. Buka lagi tautan dari halaman status Anda, atau ketik BANTUAN.")
            result: dict[str, Any] = {"keyword": "IKUTI"}
            self.put(s, now, f"in:{message_key}", "reply", channel, address, answer)
        else:
            reading = keywords.read(text.lstrip().lstrip("/"))   # Telegram's commands: /status, /bantuan
            handler = {
                "ANTRE": self._kw_antre, "STATUS": self._kw_status, "SYARAT": self._kw_syarat,
                "JAM": self._kw_jam, "BATAL": self._kw_batal, "INFO": self._kw_info, "BANTUAN": self._kw_bantuan,
                "STOP": self._kw_stop, "MULAI": self._kw_mulai, "ADUAN": self._kw_aduan,
                "ASPIRASI": self._kw_aspirasi,
            }.get(reading.keyword or "", self._kw_question)
            if start is not None or text.strip().lower() == "/help":
                handler = self._kw_bantuan
            if handler == self._kw_question:
                answer = self._kw_question(s, now, who, reading.argument, message_key)
            else:
                answer = handler(s, now, who, reading.argument)
            if isinstance(answer, Outcome):   # ANTRE: a ticket (its message is the answer)
                events = answer.events
                result = {"keyword": reading.keyword, "ticket": answer.result["number"]}
            else:
                self.put(s, now, f"in:{message_key}", "reply", channel, address, answer)
                result = {"keyword": reading.keyword}
        log.info("%s from %s: %s", channel, mask(address), result["keyword"] or "question")
        # Changed: a ticket may have been issued (the queue reloads its mirror after the commit).
        return Outcome(result, events, changed=bool(events))

    def _service_choices(self) -> dict[str, list[str]]:
        return {svc.code: [svc.code, svc.prefix, svc.name, svc.short_name or svc.name, svc.name_en]
                for svc in self.cfg.services if svc.active}

    def _services_list(self) -> str:
        return ", ".join(f"{(svc.short_name or svc.name)}" for svc in self.cfg.services if svc.active)

    def _kw_antre(self, s: "Session", now: datetime, who: "Sender", arg: str) -> "Outcome | str":
        code = keywords.best(arg, self._service_choices()) if arg else None
        if code is None:
            return f"Layanan apa? Ketik ANTRE lalu nama layanan, mis. ANTRE KTP. Layanan: {self._services_list()}."
        svc = self.q.service(code)
        phone = who.phone
        if phone is None or who.channel not in TICKET_CHANNEL:
            return "Nomor antrean dari rumah diambil lewat SMS atau situs web (perlu nomor HP). Ketik BANTUAN."
        try:
            outcome = self._inner_issue(s, now, service=code, channel=TICKET_CHANNEL[who.channel], name=SMS_NAME,
                                        phone=phone)
        except CommandError as exc:
            text = REFUSALS.get(exc.code)
            if text is None:
                raise
            return text.format(service=svc.short_name or svc.name)
        t = s.scalars(select(Ticket).where(Ticket.business_date == self.q.business_date(now),
                                           Ticket.number == outcome.result["number"])).one()
        self._ticket_created(s, now, t, phone, outcome.result.get("ahead", 0),
                             outcome.result.get("estimated_wait_minutes", 0), who)
        return outcome

    def _find_ticket(self, s: "Session", now: datetime, arg: str) -> Ticket | None:
        raw = "".join(ch for ch in arg.upper() if ch.isalnum())
        if len(raw) < 2 or not raw[0].isalpha() or not raw[1:].isdigit():
            return None
        number = self.q.format_number(raw[0], int(raw[1:]))
        return s.scalars(select(Ticket).where(Ticket.business_date == self.q.business_date(now),
                                              Ticket.number == number)).first()

    def _kw_status(self, s: "Session", now: datetime, who: "Sender", arg: str) -> str:
        digits = "".join(ch for ch in arg if ch.isdigit())
        phone = who.phone
        if not arg.strip() and who.channel != SMS:   # a chat's own ticket: the last one it follows
            item = s.scalar(select(ChatLink.item).where(ChatLink.channel == who.channel,
                                                        ChatLink.address == who.address,
                                                        ChatLink.item.like("t%")).order_by(ChatLink.id.desc()))
            t = s.get(Ticket, int(item[1:])) if item else None
            if t is not None and t.business_date == self.q.business_date(now):
                arg = t.number
        if digits and digits == "".join(ch for ch in arg if ch.isalnum()):
            if phone is None:
                return "Kode janji temu hanya bisa diperiksa lewat SMS dari nomor HP yang dipakai saat mendaftar."
            b = s.scalars(select(Booking).where(Booking.code == digits, Booking.phone == phone)).first()
            if b is None:
                return "Kode janji tidak ditemukan untuk nomor HP ini. Periksa lagi kodenya."
            local = b.slot_at.astimezone(self.q.tz)
            states = {"booked": "aktif", "checked_in": "sudah check-in", "cancelled": "dibatalkan",
                      "expired": "kedaluwarsa"}
            return (f"Janji {format_booking_code(b.code)}: {local.day}/{local.month} pukul {local:%H.%M}, {states.get(b.state, b.state)}.")
        t = self._find_ticket(s, now, arg)
        if t is None:
            return "Nomor antrean tidak ditemukan hari ini. Ketik STATUS lalu nomor Anda, mis. STATUS A-012."
        if t.state == WAITING:
            ahead = self.web._ahead(s, t)
            svc = self.q.services.get(t.service_code)
            minutes = self.q.estimate(svc, ahead) if svc else 0
            return (f"Nomor {t.number}: menunggu, {ahead} orang di depan Anda"
                    + (f", sekitar {minutes} menit." if ahead and minutes else "."))
        if t.state == CALLED:
            c = self.q.counters.get(t.counter_id or "")
            return f"Nomor {t.number} sedang dipanggil ke {c.name if c else 'loket'}. Silakan segera ke sana."
        words = {"done": "sudah selesai dilayani", "no_show": "dilewati (tidak ada saat dipanggil)",
                 "expired": "sudah tidak berlaku"}
        return f"Nomor {t.number} {words.get(t.state, t.state)}."

    def _kw_syarat(self, s: "Session", now: datetime, who: "Sender", arg: str) -> str:
        code = keywords.best(arg, self._service_choices()) if arg else None
        if code is None and arg:
            answer = self.answer(s, f"syarat {arg}")   # "syarat akta kelahiran": a letter, not a queue service
            if answer:
                return answer
        if code is None:
            return f"Syarat layanan apa? Ketik SYARAT lalu nama layanan, mis. SYARAT KTP. Layanan: {self._services_list()}."
        svc = self.q.service(code)
        needs = ", ".join(svc.requirements) or "tidak ada syarat khusus"
        return f"Syarat {svc.short_name or svc.name}: {needs}."

    def _hours_text(self) -> str:
        hours = self.cfg.office.hours
        out, prev, start = [], None, None
        for i in range(7):
            h = hours.for_weekday(i)
            span = "tutup" if h is None else f"{h[0][0]:02d}.{h[0][1]:02d}-{h[1][0]:02d}.{h[1][1]:02d}"
            if span != prev:
                if prev is not None:
                    out.append((start, i - 1, prev))
                prev, start = span, i
        out.append((start, 6, prev))
        parts = []
        for a, b, span in out:
            days = WEEKDAY_NAMES[a] if a == b else f"{WEEKDAY_NAMES[a]}-{WEEKDAY_NAMES[b]}"
            parts.append(f"{days} {span}")
        return ", ".join(parts)

    def _kw_jam(self, s: "Session", now: datetime, who: "Sender", arg: str) -> str:
        state = "buka" if self.q.is_open(now) else "tutup"
        return f"Jam buka {self._office()}: {self._hours_text()}. Sekarang {state}."

    def _kw_batal(self, s: "Session", now: datetime, who: "Sender", arg: str) -> str:
        code = "".join(ch for ch in arg if ch.isdigit())
        if not code:
            return "Ketik BATAL lalu kode janji temu Anda, mis. BATAL 1234567."
        if who.phone is None:
            return "Janji temu dibatalkan lewat SMS dari nomor HP yang dipakai saat mendaftar, atau di situs web."
        try:
            self.web.cancel_booking(s, now, code=code, phone=who.phone)
        except CommandError as exc:
            if exc.code == "booking_not_found":
                return "Kode janji tidak ditemukan untuk nomor HP ini. Periksa lagi kodenya."
            if exc.code == "already_checked_in":
                return f"Janji {format_booking_code(code)} sudah check-in, tidak bisa dibatalkan."
            return f"Janji {format_booking_code(code)} tidak bisa dibatalkan (sudah tidak aktif)."
        return f"Janji temu {format_booking_code(code)} sudah dibatalkan. Terima kasih."

    def _kw_info(self, s: "Session", now: datetime, who: "Sender", arg: str) -> str:
        return f"{self._office()}, {self.cfg.office.address}. Layanan: {self._services_list()}. Ketik BANTUAN."

    def _kw_bantuan(self, s: "Session", now: datetime, who: "Sender", arg: str) -> str:
        return fit("Ketik: ANTRE <layanan> ambil nomor, STATUS <nomor>, SYARAT <layanan>, JAM, BATAL <kode janji>, "
                   "ADUAN <isi>, INFO, STOP berhenti SMS. Atau tulis pertanyaan Anda.",
                   "Ketik: ANTRE <layanan>, STATUS <nomor>, SYARAT <layanan>, JAM, BATAL <kode>, ADUAN <isi laporan>, "
                   "INFO, STOP berhenti SMS. Atau tulis pertanyaan Anda.")

    def _kw_stop(self, s: "Session", now: datetime, who: "Sender", arg: str) -> str:
        key = self.address_key(s, who.channel, who.address)
        if s.get(SmsOptOut, key) is None:
            s.add(SmsOptOut(phone_key=key, created_at=now))
        if who.channel == SMS:
            s.execute(delete(NotifySubscription).where(NotifySubscription.phone == who.address))
        s.execute(delete(ChatLink).where(ChatLink.channel == who.channel, ChatLink.address == who.address))
        s.execute(update(OutboxMessage).where(OutboxMessage.phone_key == key, OutboxMessage.state == PENDING,
                                              OutboxMessage.kind.not_in(REPLIES))
                  .values(state=SKIPPED, reason="opted_out", done_at=now))
        if who.channel != SMS:
            return "Anda tidak akan menerima pemberitahuan lagi di sini. Kirim MULAI untuk menerimanya kembali."
        return "Anda tidak akan menerima SMS pemberitahuan lagi. Kirim MULAI untuk menerimanya kembali."

    def _kw_mulai(self, s: "Session", now: datetime, who: "Sender", arg: str) -> str:
        s.execute(delete(SmsOptOut).where(SmsOptOut.phone_key == self.address_key(s, who.channel, who.address)))
        if who.channel != SMS:
            return "Pemberitahuan aktif lagi di sini. Kirim kode dari halaman status untuk mengikuti nomor Anda."
        return "SMS pemberitahuan aktif lagi untuk nomor antrean yang Anda ambil berikutnya."

    def _kw_aduan(self, s: "Session", now: datetime, who: "Sender", arg: str, category: str = "pengaduan") -> str:
        complaints = self.q.plugins.get("complaints")
        if complaints is None:
            return "Maaf, laporan belum bisa dikirim lewat sini. Silakan datang ke kantor desa."
        return complaints.submit_message(s, now, who, arg, category)

    def _kw_aspirasi(self, s: "Session", now: datetime, who: "Sender", arg: str) -> str:
        return self._kw_aduan(s, now, who, arg, "aspirasi")

    def _kw_question(self, s: "Session", now: datetime, who: "Sender", arg: str, message_key: str = "") -> str:
        answer = self.answer(s, arg) if arg else None
        if answer:
            return answer
        book = self.q.plugins.get("questions")
        if book is not None and len(arg.split()) >= 3:   # not 'apa kabar', 'halo pak'
            # A question for a person: the staff inbox; the answer comes back by SMS (antre/rules/questions.py).
            try:
                row = book.unanswered(s, now, who.channel, who.address, arg[:300],
                                      source_key=f"{who.channel}:{message_key}")
            except CommandError:
                row = None   # nothing printable left of it: answered as any text not understood
            if row is not None:
                how = "lewat SMS" if who.channel == SMS else "di percakapan ini"
                return fit(f"Pertanyaan Anda kami teruskan ke petugas. Jawabannya akan dikirim {how}. Ketik "
                           "BANTUAN untuk daftar perintah.",
                           f"Pertanyaan Anda kami teruskan ke petugas. Jawabannya dikirim {how}.")
        return "Maaf, kami belum paham. Ketik BANTUAN untuk daftar perintah, atau hubungi kantor desa."


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    """The notification commands and hooks for ``q`` (register after the appointments plug-in)."""
    rules = NotifyRules(q)
    q.outcome_hooks.append(rules.after_command)
    q.tick_hooks.append(rules.on_tick)
    q.new_day_hooks.append(rules.purge)
    q.plugins["notify"] = rules
    q.read_only.add("ask")
    # The FAQ itself is the questions plug-in's (the database's entries, seeded from [[notify.faq]]).
    return rules.handlers()


__all__ = ["handlers", "NotifyRules", "REFUSALS"]
