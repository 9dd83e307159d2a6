""""Semua urusan saya": a resident confirms the phone number they used with a one-time code sent by SMS, then
sees their open items on one page for a short while. A plug-in of the queue (:func:`handlers`).

The flow (the website's ``/urusan``, web/my_items.py):

1. ``items_code`` (``phone``, ``address``): a 6-digit code, valid ``CODE_MINUTES``, goes into the notify outbox
   (kind ``login_code``: it counts in the office's and the number's SMS budgets like every message, and is
   skipped for a number that sent STOP: a number typed on a website is not proof that its owner asked, so an
   opted-out number gets nothing until it texts MULAI). The answer is the same whether or not the number has
   items, is opted out, or reached its limit (``PER_NUMBER_HOUR`` codes an hour, ``PER_NUMBER_DAY`` a day: then
   no SMS, silently), so nothing can be learnt about a number from it. Only the browser's address is told it
   asked too often (``PER_ADDRESS_HOUR`` codes an hour: ``too_many_attempts``). All addresses together send at
   most ``BUDGET_SHARE`` of the office's daily SMS budget as codes in a day (then ``too_many_attempts`` for
   everyone): someone with many addresses cannot spend the budget on codes to strangers and starve the
   queue's own messages. With SMS off: ``sms_off``.
2. ``items_confirm`` (``phone``, ``code``, ``session``, ``address``): the newest unused code of that number.
   A wrong code is a *result* (``{"confirmed": false}``), written with its attempt; the ``MAX_ATTEMPTS``-th wrong
   one burns the code; a used, burnt or expired code never confirms (no replay). Right: a session of
   ``SESSION_MINUTES`` for the browser's token (only its SHA-256 is kept).
3. ``items_list`` (``session``): read-only; the number's open items: today's tickets taken from home, bookings
   from today on, letter requests with an SMS number, complaints with a contact number (never anonymous ones,
   which keep none), each with its code and status. ``not_signed_in`` once the session ended.
4. ``items_logout`` (``session``).

Nothing stores or logs the number: codes and sessions carry its keyed hash (the outbox's ``phone_key``); the
items are found by hashing the candidate rows' numbers with the same key. No event, no retained state.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import delete, func, select

from antre.addresses import limit_key
from antre.errors import BadRequest, CommandError, Forbidden
from antre.rules.outcome import Outcome, fit_rows
from antre.rules.sms_text import msisdn, phone_key
from antre.storage.models import (
    BOOKED, CALLED, CHECKED_IN, WAITING, Booking, Complaint, LetterRequest, PhoneCode, PhoneSession,
    RemoteContact, Ticket,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.notify import NotifyRules
    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

CODE_MINUTES = 10          # a code is valid this long
SESSION_MINUTES = 30       # the list stays open this long after confirming
MAX_ATTEMPTS = 5           # wrong tries per code, then it is burnt
PER_NUMBER_HOUR = 3        # codes sent to one number an hour (more: silently none)
PER_NUMBER_DAY = 6         # ... and a day
PER_ADDRESS_HOUR = 5       # codes one browser address may ask for an hour (more: too_many_attempts)
BUDGET_SHARE = 0.25        # codes sent in a day, from all addresses, at most this share of [notify] daily_budget
LETTERS_OPEN = ("belum_lengkap", "diperiksa", "menunggu_ttd", "siap_diambil")
COMPLAINTS_OPEN = ("diterima", "diverifikasi", "diproses")


#: How far the clock may step back (an NTP correction) before a code or session made just before counts as
#: expired (:func:`_alive`), and before a code stamped later than now stops counting against the limits.
CLOCK_SLACK = timedelta(minutes=2)


def _alive(expires_at: datetime, now: datetime, minutes: int) -> bool:
    """A code or session stamped to expire at ``expires_at`` is alive at ``now``: not yet expired, and with no
    more than its ``minutes`` (and :data:`CLOCK_SLACK`) left. A clock that was ahead when it was made and has
    been set back since would otherwise keep it alive that much longer (a day's jump: a day)."""
    left = expires_at - now
    return timedelta(0) < left <= timedelta(minutes=minutes) + CLOCK_SLACK


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class MyItems:
    def __init__(self, q: "QueueService"):
        self.q = q

    @property
    def notify(self) -> "NotifyRules":
        return self.q.plugins["notify"]

    def handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {"items_code": self.code, "items_confirm": self.confirm, "items_list": self.items,
                "items_logout": self.logout}

    @staticmethod
    def _number(phone: str) -> str:
        number = msisdn(phone)
        if number is None:
            raise BadRequest("invalid_argument", "'phone' must be an Indonesian phone number such as 081234567890")
        return number

    def _key(self, s: "Session", value: str) -> str:
        return phone_key(self.notify.secret(s), value)

    def _code_hash(self, s: "Session", row_key: str, code: str) -> str:
        return hmac.new(self.notify.secret(s), f"{row_key}:{code}".encode(), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ 1. a code by SMS

    def code(self, s: "Session", now: datetime, phone: str, address: str | None = None) -> Outcome:
        if not self.q.cfg.notify.sms:
            raise CommandError("sms_off", "SMS is switched off ([notify] sms): items are followed by their codes")
        phone = self._number(phone)
        pkey = self._key(s, phone)
        akey = self._key(s, f"address:{limit_key(address or '?')}")   # an IPv6 address by its /64
        hour, day = now - timedelta(hours=1), now - timedelta(days=1)

        def count(since: datetime, *where) -> int:
            # Codes made in the window up to now. One stamped later than now (beyond CLOCK_SLACK) was made while
            # the clock was ahead and has been set back since: it is not counted, or it would hold the limit for
            # as long as the clock was wrong (a day's jump: a resident locked out for a day).
            return s.scalar(select(func.count()).select_from(PhoneCode).where(
                PhoneCode.created_at > since, PhoneCode.created_at <= now + CLOCK_SLACK, *where)) or 0

        if count(hour, PhoneCode.address_key == akey) >= PER_ADDRESS_HOUR:
            raise Forbidden("too_many_attempts", "too many codes asked from this address; try again in an hour")
        if count(day, PhoneCode.code_hash != "-") >= self._office_cap():
            log.warning("items code refused: the day's share of the SMS budget for codes is spent")
            raise Forbidden("too_many_attempts", "too many codes asked today; try again later")
        answer = {"sent": True, "minutes": CODE_MINUTES}
        if count(hour, PhoneCode.phone_key == pkey) >= PER_NUMBER_HOUR or \
                count(day, PhoneCode.phone_key == pkey) >= PER_NUMBER_DAY:
            log.info("items code: the number's limit is reached; none sent")
            # Still counted against the address, so probing one number costs the prober.
            s.add(PhoneCode(phone_key=pkey, address_key=akey, code_hash="-", created_at=now, expires_at=now,
                            attempts=MAX_ATTEMPTS, used_at=now))
            return Outcome(answer, changed=False)
        code = f"{secrets.randbelow(10 ** 6):06d}"
        row = PhoneCode(phone_key=pkey, address_key=akey, code_hash="", created_at=now,
                        expires_at=now + timedelta(minutes=CODE_MINUTES), attempts=0)
        s.add(row)
        s.flush()
        row.code_hash = self._code_hash(s, str(row.id), code)
        office = self.q.cfg.office.name
        self.notify.notify(s, now, f"login{row.id}", "login_code", phone,
                           f"{office}: kode Anda {code}, berlaku {CODE_MINUTES} menit, untuk melihat urusan Anda di "
                           f"situs kantor. Jangan berikan kode ini kepada siapa pun.")
        return Outcome(answer, changed=False)

    def _office_cap(self) -> int:
        """Codes a day from all addresses: :data:`BUDGET_SHARE` of the office's SMS budget (at least one)."""
        return max(1, int(self.q.cfg.notify.daily_budget * BUDGET_SHARE))

    # ------------------------------------------------------------------ 2. confirm

    def confirm(self, s: "Session", now: datetime, phone: str, code: str, session: str,
                address: str | None = None) -> Outcome:
        pkey = self._key(s, self._number(phone))
        row = s.scalars(select(PhoneCode).where(PhoneCode.phone_key == pkey, PhoneCode.code_hash != "-")
                        .order_by(PhoneCode.id.desc()).limit(1)).first()
        refused = Outcome({"confirmed": False}, changed=False)
        if row is None or row.used_at is not None or not _alive(row.expires_at, now, CODE_MINUTES):
            return refused
        row.attempts += 1
        if not hmac.compare_digest(row.code_hash, self._code_hash(s, str(row.id), code)):
            if row.attempts >= MAX_ATTEMPTS:
                row.used_at = now   # burnt: a new code is needed
            return refused
        row.used_at = now
        expires = now + timedelta(minutes=SESSION_MINUTES)
        existing = s.get(PhoneSession, token_hash(session))
        if existing is not None:   # a token is the browser's own random value; never reuse one
            return refused
        s.add(PhoneSession(token_hash=token_hash(session), phone_key=pkey, created_at=now, expires_at=expires))
        return Outcome({"confirmed": True, "expires_at": expires.isoformat(), "minutes": SESSION_MINUTES},
                       changed=False)

    # ------------------------------------------------------------------ 3. the list

    def _session(self, s: "Session", now: datetime, session: str) -> PhoneSession:
        row = s.get(PhoneSession, token_hash(session))
        if row is None or row.ended_at is not None or not _alive(row.expires_at, now, SESSION_MINUTES):
            raise Forbidden("not_signed_in", "no confirmed phone number in this session (ended or expired)")
        return row

    def items(self, s: "Session", now: datetime, session: str) -> Outcome:
        row = self._session(s, now, session)
        secret = self.notify.secret(s)
        mine = lambda phone: bool(phone) and hmac.compare_digest(phone_key(secret, phone), row.phone_key)  # noqa: E731
        today = self.q.business_date(now)
        out: list[dict[str, Any]] = []
        for t, contact_phone in s.execute(
                select(Ticket, RemoteContact.phone).join(RemoteContact, RemoteContact.ticket_id == Ticket.id)
                .where(RemoteContact.business_date == today, Ticket.state.in_((WAITING, CALLED)))
                .order_by(Ticket.id)):
            if mine(contact_phone):
                out.append({"kind": "ticket", "code": t.number, "date": t.business_date.isoformat(),
                            "service": t.service_code, "status": t.state})
        for b in s.scalars(select(Booking).where(Booking.business_date >= today, Booking.state.in_((BOOKED, CHECKED_IN)))
                           .order_by(Booking.business_date, Booking.slot)):
            if mine(b.phone) and not (b.state == CHECKED_IN and b.business_date != today):
                out.append({"kind": "booking", "code": b.code, "date": b.business_date.isoformat(), "slot": b.slot,
                            "service": b.service_code, "status": b.state})
        for r in s.scalars(select(LetterRequest).where(LetterRequest.status.in_(LETTERS_OPEN),
                                                       LetterRequest.sms_phone.is_not(None)).order_by(LetterRequest.id)):
            if mine(r.sms_phone):
                out.append({"kind": "letter", "code": r.code, "type": r.type_code, "status": r.status,
                            "date": r.created_at.astimezone(self.q.tz).date().isoformat()})
        for c in s.scalars(select(Complaint).where(Complaint.status.in_(COMPLAINTS_OPEN), Complaint.anonymous == 0,
                                                   Complaint.contact_phone.is_not(None),
                                                   Complaint.merged_into.is_(None)).order_by(Complaint.id)):
            if mine(c.contact_phone):
                out.append({"kind": "complaint", "code": c.code, "category": c.category, "topic": c.topic,
                            "status": c.status, "date": c.created_at.astimezone(self.q.tz).date().isoformat()})
        # The first that fit in one reply, and how many more: a number may have any number of open letters and
        # complaints (anyone may type it on a form), and all of them went over the broker's packet limit.
        shown = fit_rows(out)
        return Outcome({"items": shown, "more": len(out) - len(shown), "expires_at": row.expires_at.isoformat()},
                       changed=False)

    # ------------------------------------------------------------------ 4. sign out, and clearing up

    def logout(self, s: "Session", now: datetime, session: str) -> Outcome:
        row = s.get(PhoneSession, token_hash(session))
        if row is not None and row.ended_at is None:
            row.ended_at = now
        return Outcome({"signed_out": True}, changed=False)

    def purge(self, s: "Session", now: datetime) -> None:
        """A new-day hook: codes and sessions older than a day go (the limits look back one day)."""
        day = now - timedelta(days=1)
        s.execute(delete(PhoneCode).where(PhoneCode.created_at < day))
        s.execute(delete(PhoneSession).where(PhoneSession.expires_at < day))


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    rules = MyItems(q)
    q.new_day_hooks.append(rules.purge)
    q.read_only.add("items_list")
    q.plugins["my_items"] = rules
    return rules.handlers()


__all__ = ["handlers", "MyItems", "CODE_MINUTES", "SESSION_MINUTES", "MAX_ATTEMPTS", "BUDGET_SHARE"]
