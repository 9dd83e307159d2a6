"""Letters (e-administrasi): residents request letters, staff process them, numbers and the register.

A plug-in of :class:`~antre.rules.queue.QueueService` (:func:`handlers`), so every command runs in the
service's single writer, one transaction each, idempotent on ``request_id``. That makes numbering simple
and exact: the next number of a sequence is the largest given so far plus one, read and written in the
same transaction by the only writer, so under any number of staff there are no gaps and no duplicates
(``uq_letter_sequence`` would refuse one anyway).

Statuses (as OpenSID names them) and who moves a request where (:data:`TRANSITIONS`)::

    diperiksa ──> belum_lengkap ──> diperiksa           (kasi: "KK belum dilampirkan"; resident brings it)
    diperiksa ──> menunggu_ttd  (needs a number)          (kasi sends it to the signer)
    menunggu_ttd ──> siap_diambil                         (penandatangan signs) / ──> diperiksa (sent back)
    siap_diambil ──> sudah_diambil                        (kasi hands it over)
    any open status ──> dibatalkan                        (kasi, with a reason; the resident before processing)

Personal data -- the holder's name, NIK and the form's fields -- travels only in ``letter_request`` (from the
website's or kiosk's login) and in direct replies to read-only questions (``letter_get``), which are never
written to the request log. Replies of commands that change something (which the request log keeps for a
week), events and log lines carry codes, statuses and masked names only. ``[letters] retention_days`` after a
request is closed its personal data is wiped; the register keeps type, number, date and the masked name.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import and_, func, or_, select, update

from antre.config import WEEKDAYS, LetterTypeConfig
from antre.errors import CommandError, Conflict, Forbidden, NotFound
from antre.rules.letter_fields import check_fields, holder_name_field, holder_nik_field, mask_name
from antre.rules.outcome import Outcome, fit_rows
from antre.rules.letter_codes import (
    LETTER_CANCELLED, LETTER_CHECKING, LETTER_COLLECTED, LETTER_INCOMPLETE, LETTER_READY, LETTER_SIGNING,
    LETTER_STATUSES, new_tracking_code, status_ref, tracking_code_ok,
)
from antre.rules.staff import Account, audit, audit_by, authenticate, web_device
from antre.storage.models import LetterHistory, LetterNumber, LetterRequest, Meta

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

OPEN = (LETTER_INCOMPLETE, LETTER_CHECKING, LETTER_SIGNING, LETTER_READY)
CLOSED = (LETTER_COLLECTED, LETTER_CANCELLED)
#: Still untouched by staff: the resident may cancel (and the kiosk/website say so).
CANCELLABLE = (LETTER_INCOMPLETE, LETTER_CHECKING)
#: Staff roles (the console's accounts, antre/rules/staff.py): who may make each move. The kasi processes,
#: only the penandatangan signs, counter staff (petugas) hand ready letters over; an admin manages accounts
#: and sees no residents' data.
PROCESSORS = frozenset({"kasi"})
SIGNERS = frozenset({"penandatangan"})
READERS = ("kasi", "penandatangan")                    # may open a request (personal data)
LISTERS = ("kasi", "penandatangan", "petugas")        # may see the work list (masked names)
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    LETTER_CHECKING: {LETTER_INCOMPLETE: PROCESSORS, LETTER_SIGNING: PROCESSORS, LETTER_CANCELLED: PROCESSORS},
    LETTER_INCOMPLETE: {LETTER_CHECKING: PROCESSORS, LETTER_CANCELLED: PROCESSORS},
    LETTER_SIGNING: {LETTER_READY: SIGNERS, LETTER_CHECKING: PROCESSORS | SIGNERS, LETTER_CANCELLED: PROCESSORS},
    LETTER_READY: {LETTER_COLLECTED: PROCESSORS | {"petugas"}, LETTER_CANCELLED: PROCESSORS},
    LETTER_COLLECTED: {},
    LETTER_CANCELLED: {},
}
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
NUMBER_WIDTH = 3
OVERRIDE = "letters.type."   # meta keys of the kasi's catalogue changes
LIST_LIMIT = 200
#: A request's history in one reply at most (JSON bytes), the newest: it has no count limit (statuses back and
#: forth with reasons of 300 characters, pickups, edits), and letter_status and letter_get must stay one message.
HISTORY_BYTES = 30_000


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


def format_number(pattern: str, *, classification: str, seq: int, village_code: str, on: date) -> str:
    values = {"kode": classification, "nomor": f"{seq:0{NUMBER_WIDTH}d}", "kode_desa": village_code,
              "bulan_romawi": ROMAN[on.month - 1], "bulan": f"{on.month:02d}", "tahun": str(on.year)}
    return pattern.format(**values)


def _newest_history(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``history``: the newest rows that fit in :data:`HISTORY_BYTES`, oldest first; ``history_more``: how many
    older ones are left out."""
    shown = fit_rows(reversed(rows), HISTORY_BYTES)[::-1]
    return {"history": shown, "history_more": len(rows) - len(shown)}


def _subject(r: LetterRequest | None) -> str:
    """What the audit log names a letter request by: its number once it has one."""
    return (r.number or f"request {r.id}") if r is not None else ""


class LetterRules:
    """The letter commands of one :class:`QueueService`."""

    def __init__(self, q: "QueueService"):
        self.q = q
        self.cfg = q.cfg
        self.letters = q.cfg.letters
        self.signers = {s.id: s for s in self.letters.signers}

    def handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {name: self.q.with_recorded_time(fn) for name, fn in self._handlers().items()}

    def _handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {
            "letter_request": self.request, "letter_status": self.status, "letter_cancel": self.cancel,
            "letter_list": self.list, "letter_get": self.get, "letter_set_status": self.set_status,
            "letter_edit": self.edit, "letter_assign_number": self.assign_number,
            "letter_reserve_number": self.reserve_number, "letter_register": self.register,
            "letter_revoke": self.revoke, "letter_verify": self.verify, "letter_pickup": self.pickup,
            "letter_catalogue": self.catalogue, "letter_type_update": self.type_update,
        }

    # ------------------------------------------------------------------ helpers

    def _type(self, code: str) -> LetterTypeConfig:
        t = self.letters.type(code)
        if t is None or not t.active:
            raise NotFound("unknown_letter_type", f"no letter type '{code}' (types: "
                                                  f"{', '.join(x.code for x in self.letters.types if x.active)})")
        return t

    def _today(self, now: datetime) -> date:
        return self.q.business_date(now)

    # ------------------------------------------------------------------ the catalogue, as the kasi keeps it

    def overrides(self, s: "Session") -> dict[str, dict[str, Any]]:
        """What the kasi changed in the catalogue (``letter_type_update``), per type: kept in ``meta`` as
        ``letters.type.{code}``; the configuration file stays the default."""
        out = {}
        for m in s.scalars(select(Meta).where(Meta.key.like(f"{OVERRIDE}%"))):
            code = m.key[len(OVERRIDE):]
            if self.letters.type(code) is not None:
                out[code] = json.loads(m.value)
        return out

    def effective(self, s: "Session", code: str) -> LetterTypeConfig:
        """The type as residents see it now: the configuration with the kasi's changes. Refuses a type
        that does not exist or is switched off."""
        t = self.letters.type(code)
        if t is not None:
            t = dataclasses.replace(t, **self.overrides(s).get(code, {}))
        if t is None or not t.active:
            raise NotFound("unknown_letter_type", f"no active letter type '{code}'")
        return t

    def catalogue(self, s: "Session", now: datetime, after: str | None = None, forms: bool = False) -> Outcome:
        """The kasi's changes to the catalogue (public: the website reads it for residents and the console),
        per type in the configuration's order, in pages of at most :data:`~antre.rules.outcome.LIST_BYTES`:
        an office has 20-30 letter types, and one type's changes may be ~27 000 bytes (a purpose of 500 and 20
        requirements of 200 characters, a character up to 6 bytes of JSON), so all in one reply went over the
        broker's packet limit at about a dozen. One type always fits a page. ``next``: the ``after`` of the
        following page, null on the last.

        ``forms``: instead, the active types as residents see them now (the configuration with the kasi's
        changes), each with its form's fields, for a kiosk: it asks the office's own catalogue rather than
        a copy in its configuration that may differ or still offer a type the kasi switched off."""
        order = [t.code for t in self.letters.types]
        if after is not None and after not in order:
            raise CommandError("invalid_argument", f"'after' is not a letter type of the catalogue: {after}")
        overrides = self.overrides(s)
        if forms:
            start = order.index(after) + 1 if after else 0
            shown = [dataclasses.replace(t, **overrides.get(t.code, {})) for t in self.letters.types[start:]]
            rows = [{"code": t.code, "form": _form(t)} for t in shown if t.active]
            page = fit_rows(rows) or rows[:1]
            following = page[-1]["code"] if len(page) < len(rows) else None
            return Outcome({"types": [row["form"] for row in page], "next": following}, changed=False)
        rows = [{code: overrides[code]} for code in order[order.index(after) + 1 if after else 0:]
                if code in overrides]
        page = fit_rows(rows) or rows[:1]
        following = next(iter(page[-1])) if len(page) < len(rows) else None
        return Outcome({"overrides": {code: o for row in page for code, o in row.items()}, "next": following},
                       changed=False)

    def type_update(self, s: "Session", now: datetime, type: str, session: str, active: bool | None = None,
                    purpose: str | None = None, requirements: list[str] | None = None, days: int | None = None,
                    cost: int | None = None, address: str | None = None) -> Outcome:
        """The kasi edits a letter type for residents: on/off, purpose, requirements, usual days, cost.
        (Fields, numbering and templates stay in the configuration: they change what letters are.)"""
        who = self._who(s, now, session, PROCESSORS)
        if self.letters.type(type) is None:
            raise NotFound("unknown_letter_type", f"no letter type '{type}'")
        key = OVERRIDE + type
        meta = s.get(Meta, key)
        current = json.loads(meta.value) if meta is not None else {}
        given = {k: v for k, v in (("active", active), ("purpose", purpose), ("requirements", requirements),
                                   ("days", days), ("cost", cost)) if v is not None}
        current |= given
        if meta is None:
            s.add(Meta(key=key, value=json.dumps(current, ensure_ascii=False)))
        else:
            meta.value = json.dumps(current, ensure_ascii=False)
        audit(s, who.name, "letter.catalogue", type, web_device(address),
              {"changed": sorted(given)}, now=now)
        log.info("letter type %s changed by %s: %s", type, who.name, ", ".join(sorted(given)))
        return Outcome({"type": type, "overrides": current}, changed=False)

    def _due(self, start: date, days: int) -> date:
        """``days`` working days (days the office opens) after ``start``."""
        d, left = start, days
        if not any(getattr(self.cfg.office.hours, w) != "closed" for w in WEEKDAYS):
            return start + timedelta(days=days)
        while left > 0:
            d += timedelta(days=1)
            if self.cfg.office.hours.for_weekday(d.weekday()) is not None:
                left -= 1
        return d

    def _by_code(self, s: "Session", code: str) -> LetterRequest:
        r = s.scalars(select(LetterRequest).where(LetterRequest.code == code)).first()
        if r is None:
            raise NotFound("letter_not_found", "no letter request with this tracking code")
        return r

    def _by_id(self, s: "Session", request: int) -> LetterRequest:
        r = s.get(LetterRequest, request)
        if r is None:
            raise NotFound("letter_not_found", f"no letter request {request}")
        return r

    def _history(self, s: "Session", r: LetterRequest, now: datetime, action: str, to: str, actor: str,
                 reason: str | None = None, before: str | None = None) -> None:
        s.add(LetterHistory(request_id=r.id, at=now, action=action, from_status=before, to_status=to,
                            reason=reason, actor=actor))

    def _event(self, r: LetterRequest, now: datetime) -> tuple[str, dict[str, Any]]:
        return "letter_status", {"ref": status_ref(r.code), "status": r.status, "time": iso(now)}

    def _type_name(self, code: str) -> str:
        t = self.letters.type(code)
        return t.name if t else code

    def _summary(self, r: LetterRequest, today: date) -> dict[str, Any]:
        """What anyone holding the tracking code may see: no personal data."""
        return {"code": r.code, "type": r.type_code, "type_name": self._type_name(r.type_code), "status": r.status,
                "reason": r.reason, "number": r.number, "created_at": iso(r.created_at),
                "updated_at": iso(r.updated_at), "due_on": r.due_on.isoformat(),
                "overdue": r.status in (LETTER_INCOMPLETE, LETTER_CHECKING, LETTER_SIGNING) and today > r.due_on,
                "can_cancel": r.status in CANCELLABLE and r.number is None, "channel": r.channel}

    @staticmethod
    def _who(s: "Session", now: datetime, session: str, roles) -> Account:
        return authenticate(s, now, session, tuple(sorted(roles)))

    # ------------------------------------------------------------------ residents

    def request(self, s: "Session", now: datetime, type: str, fields: dict[str, Any],
                channel: str = "web", session: str | None = None, address: str | None = None,
                phone: str | None = None) -> Outcome:
        """A resident's request (website, kiosk), or one staff type in at the counter for a resident without a
        phone (channel ``counter``: needs the person's ``session``; kasi or petugas; audited)."""
        who = None
        if channel == "counter" or session is not None:
            if session is None:
                raise CommandError("missing_argument", "a request typed at the counter needs the staff 'session'")
            who = self._who(s, now, session, PROCESSORS | {"petugas"})
        t = self.effective(s, type)
        today = self._today(now)
        values, problems = check_fields(t, fields, today)
        if problems:
            # Field names and problem codes only: never the values.
            raise CommandError("invalid_fields", "; ".join(f"{k}: {v}" for k, v in sorted(problems.items())))
        holder = values[holder_name_field(t)]
        code = self._new(s, LetterRequest.code, new_tracking_code)
        token = self._new(s, LetterRequest.verify_token, lambda: secrets.token_urlsafe(18))
        nik_field = holder_nik_field(t)
        r = LetterRequest(code=code, verify_token=token, type_code=t.code, channel=channel, status=LETTER_CHECKING,
                          holder_name=holder, nik=values.get(nik_field) if nik_field else None,
                          fields_json=json.dumps(values, ensure_ascii=False), masked_name=mask_name(holder),
                          sms_phone=phone,
                          created_at=now, updated_at=now, due_on=self._due(today, t.days))
        s.add(r)
        s.flush()
        self._history(s, r, now, "requested", LETTER_CHECKING,
                      f"resident ({channel})" if who is None else f"{who.name} for a resident ({channel})")
        if who is not None:
            audit_by(s, now, who, "letter.request", _subject(r), address, {"request": r.id, "type": t.code})
        log.info("letter request %s: %s from %s", r.id, t.code, channel)
        return Outcome(self._summary(r, today), events=[self._event(r, now)], changed=False)

    def _sms(self, s: "Session", now: datetime, r: LetterRequest, status: str, reason: str | None) -> None:
        """News of the request by SMS, for a resident who asked (the request's ``phone``): incomplete (with the
        staff's reason), ready to collect, or cancelled by staff. Through the notify plug-in's outbox, in this
        transaction; nothing when SMS is off. Chats that follow the request (its link code, docs/channels.md)
        get the same news, whether or not a number was given (notify with no number writes theirs only)."""
        notify = self.q.plugins.get("notify")
        if notify is None or status not in (LETTER_INCOMPLETE, LETTER_READY, LETTER_CANCELLED):
            return
        office = self.cfg.office.name
        kind = self._type_name(r.type_code)
        link = self.cfg.web.public_url.rstrip("/") + f"/surat/status/{r.code}" if self.cfg.web.public_url else ""
        code = "-".join(r.code[i:i + 4] for i in range(0, len(r.code), 4))
        if status == LETTER_READY:
            t = self.letters.type(r.type_code)
            bring = ", ".join(t.requirements[:3]) if t and t.requirements else "KTP asli"
            body = (f"{kind} Anda sudah siap diambil di {office}. Bawa {bring}. Di kios pilih Ambil surat, "
                    f"kode {code}.")
        elif status == LETTER_INCOMPLETE:
            body = f"Permohonan {kind} Anda belum lengkap: {reason}. Silakan ke {office}. {link}".strip()
        else:
            body = f"Permohonan {kind} Anda dibatalkan petugas: {reason}. {link}".strip()
        seen = s.scalar(select(func.count()).select_from(LetterHistory).where(
            LetterHistory.request_id == r.id, LetterHistory.to_status == status)) or 0
        notify.notify(s, now, f"letter{r.id}:{status}:{seen}", f"letter_{status}", r.sms_phone, body)

    def _new(self, s: "Session", column, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if s.scalar(select(LetterRequest.id).where(column == value)) is None:
                return value

    def status(self, s: "Session", now: datetime, code: str) -> Outcome:
        r = self._by_code(s, code)
        out = self._summary(r, self._today(now))
        rows = s.scalars(select(LetterHistory).where(LetterHistory.request_id == r.id).order_by(LetterHistory.id))
        out |= _newest_history([{"status": h.to_status, "at": iso(h.at), "reason": h.reason} for h in rows])
        return Outcome(out, changed=False)

    def cancel(self, s: "Session", now: datetime, code: str) -> Outcome:
        r = self._by_code(s, code)
        if r.status not in CANCELLABLE or r.number is not None:
            raise Conflict("letter_in_process", f"the request is {r.status}: staff are processing it; ask at the office")
        before, r.status, r.reason, r.updated_at, r.closed_at = r.status, LETTER_CANCELLED, None, now, now
        self._history(s, r, now, "cancelled", LETTER_CANCELLED, "resident", None, before)
        log.info("letter request %s cancelled by the resident", r.id)
        return Outcome(self._summary(r, self._today(now)), events=[self._event(r, now)], changed=False)

    def verify(self, s: "Session", now: datetime, token: str) -> Outcome:
        """What the QR code's page shows: type, number, date, masked name, and valid / expired / revoked."""
        r = s.scalars(select(LetterRequest).where(LetterRequest.verify_token == token)).first()
        if r is None or r.signed_at is None:
            raise NotFound("letter_not_found", "no signed letter with this code")
        today = self._today(now)
        if r.revoked_at is not None or r.status == LETTER_CANCELLED:
            validity = "revoked"
        elif r.valid_until is not None and today > r.valid_until:
            validity = "expired"
        else:
            validity = "valid"
        return Outcome({"type": r.type_code, "type_name": self._type_name(r.type_code), "number": r.number,
                        "signed_on": r.signed_at.astimezone(self.q.tz).date().isoformat(),
                        "valid_until": r.valid_until.isoformat() if r.valid_until else None,
                        "masked_name": r.masked_name, "validity": validity,
                        "revoked_on": r.revoked_at.astimezone(self.q.tz).date().isoformat() if r.revoked_at else None},
                       changed=False)

    def pickup(self, s: "Session", now: datetime, code: str, channel: str = "kiosk") -> Outcome:
        """A queue ticket to collect a ready letter (the kiosk's "Ambil surat"): a ticket of ``[letters]
        pickup_service``, issued like any other, and noted on the request so the counter sees whose letter it
        is. One per request and day; a second press says which ticket was taken."""
        service = self.letters.pickup_service
        if not service:
            raise Conflict("pickup_unavailable", "no [letters] pickup_service is configured")
        r = self._by_code(s, code)
        if r.status == LETTER_COLLECTED:
            raise Conflict("letter_collected", "the letter was collected already")
        if r.status == LETTER_CANCELLED:
            raise Conflict("letter_cancelled", "the request was cancelled")
        if r.status != LETTER_READY:
            raise Conflict("letter_not_ready", f"the letter is not ready yet ({r.status})")
        today = self._today(now)
        before = s.scalars(select(LetterHistory).where(LetterHistory.request_id == r.id,
                                                       LetterHistory.action == "pickup")
                           .order_by(LetterHistory.id.desc())).first()
        if before is not None and before.at.astimezone(self.q.tz).date() == today:
            raise Conflict("pickup_taken", f"ticket {before.reason} was taken for this letter today")
        outcome = self.q.issue(s, now, service=service, channel=channel)
        self._history(s, r, now, "pickup", r.status, f"resident ({channel})", outcome.result["number"], r.status)
        log.info("letter request %s: pickup ticket %s", r.id, outcome.result["number"])
        outcome.result = outcome.result | {"letter": {"type_name": self._type_name(r.type_code), "number": r.number}}
        return outcome

    # ------------------------------------------------------------------ staff

    def list(self, s: "Session", now: datetime, session: str, status: str | None = None, type: str | None = None,
             address: str | None = None) -> Outcome:
        self._who(s, now, session, LISTERS)
        today = self._today(now)
        counts = dict(s.execute(select(LetterRequest.status, func.count()).group_by(LetterRequest.status)).all())
        overdue = s.scalar(select(func.count()).select_from(LetterRequest).where(
            LetterRequest.status.in_((LETTER_INCOMPLETE, LETTER_CHECKING, LETTER_SIGNING)),
            LetterRequest.due_on < today)) or 0
        query = select(LetterRequest).order_by(LetterRequest.due_on, LetterRequest.id)
        if status is not None:
            query = query.where(LetterRequest.status == status)
        else:
            query = query.where(LetterRequest.status.in_(OPEN))
        if type is not None:
            query = query.where(LetterRequest.type_code == type)
        rows = list(s.scalars(query.limit(LIST_LIMIT)))
        tickets: dict[int, str] = {}
        for h in s.scalars(select(LetterHistory).where(LetterHistory.request_id.in_([r.id for r in rows]),
                                                       LetterHistory.action == "pickup").order_by(LetterHistory.id)):
            if h.at.astimezone(self.q.tz).date() == today:
                tickets[h.request_id] = h.reason   # the queue ticket the resident took today to collect it
        items = fit_rows({"id": r.id, "masked_name": r.masked_name, "pickup_ticket": tickets.get(r.id)}
                         | self._summary(r, today) for r in rows)
        chosen = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        return Outcome({"counts": {st: counts.get(st, 0) for st in LETTER_STATUSES}, "overdue": overdue,
                        "items": items, "today": today.isoformat(), "more": max(chosen - len(items), 0)},
                       changed=False)

    def get(self, s: "Session", now: datetime, request: int, session: str, purpose: str = "view",
            address: str | None = None) -> Outcome:
        """Everything about one request, personal data included, for the kasi and the signer; each view and
        each print is in the audit log (``letter.view``, ``letter.print``). Read-only: the reply is never
        written to the request log."""
        who = self._who(s, now, session, READERS)
        r = self._by_id(s, request)
        audit_by(s, now, who, f"letter.{purpose}", _subject(r), address, {"request": r.id, "type": r.type_code})
        t = self.letters.type(r.type_code)
        out = {"id": r.id, "masked_name": r.masked_name} | self._summary(r, self._today(now))
        out |= {"holder_name": r.holder_name, "nik": r.nik,
                "fields": json.loads(r.fields_json) if r.fields_json else None,
                "anonymised": r.anonymised_at is not None, "verify_token": r.verify_token,
                "signer": r.signer_id, "signed_at": iso(r.signed_at), "numbered_at": iso(r.numbered_at),
                "valid_until": r.valid_until.isoformat() if r.valid_until else None,
                "revoked_at": iso(r.revoked_at), "classification": t.classification if t else None,
                "allowed": {to: sorted(roles) for to, roles in TRANSITIONS[r.status].items()}}
        rows = s.scalars(select(LetterHistory).where(LetterHistory.request_id == r.id).order_by(LetterHistory.id))
        out |= _newest_history([{"action": h.action, "from": h.from_status, "status": h.to_status, "at": iso(h.at),
                                 "reason": h.reason, "actor": h.actor} for h in rows])
        return Outcome(out, changed=False)

    def set_status(self, s: "Session", now: datetime, request: int, status: str, session: str,
                   reason: str | None = None, signer: str | None = None, address: str | None = None) -> Outcome:
        who = self._who(s, now, session, PROCESSORS | SIGNERS | {"petugas"})
        role, actor = who.role, who.name
        r = self._by_id(s, request)
        allowed = TRANSITIONS[r.status]
        if status not in allowed:
            raise Conflict("invalid_transition", f"a request that is {r.status} cannot become {status} "
                                                 f"(it can become: {', '.join(allowed) or 'nothing'})")
        if role not in allowed[status]:
            raise Forbidden("forbidden", f"a {role} may not move a request from {r.status} to {status} "
                                         f"(only {', '.join(sorted(allowed[status]))})")
        if status in (LETTER_INCOMPLETE, LETTER_CANCELLED) and not reason:
            raise CommandError("missing_argument", f"'{status}' needs a 'reason' the resident will read")
        if r.status == LETTER_SIGNING and status == LETTER_CHECKING and not reason:
            raise CommandError("missing_argument", "sending a letter back needs a 'reason'")
        if status == LETTER_SIGNING:
            if r.number is None:
                raise Conflict("letter_not_numbered", "give the letter its number before sending it to the signer")
            chosen = signer or r.signer_id or self.letters.signers[0].id
            if chosen not in self.signers:
                raise NotFound("unknown_signer", f"no signer '{chosen}' (signers: {', '.join(self.signers)})")
            r.signer_id = chosen
        if status == LETTER_READY:
            r.signed_at = now
            t = self.letters.type(r.type_code)
            signed_on = now.astimezone(self.q.tz).date()
            r.valid_until = signed_on + timedelta(days=t.valid_days) if t and t.valid_days else None
        if status in CLOSED:
            r.closed_at = now
        before = r.status
        r.status, r.reason, r.updated_at = status, reason, now
        self._history(s, r, now, "status", status, actor, reason, before)
        self._sms(s, now, r, status, reason)
        action = {LETTER_READY: "letter.sign", LETTER_COLLECTED: "letter.hand_over",
                  LETTER_CANCELLED: "letter.cancel"}.get(status, "letter.status")
        audit_by(s, now, who, action, _subject(r), address, {"request": r.id, "from": before, "to": status})
        log.info("letter request %s: %s -> %s by %s (%s)", r.id, before, status, actor, role)
        return Outcome({"id": r.id, "masked_name": r.masked_name} | self._summary(r, self._today(now)),
                       events=[self._event(r, now)], changed=False)

    def edit(self, s: "Session", now: datetime, request: int, fields: dict[str, Any], session: str,
             address: str | None = None) -> Outcome:
        """Staff correct what the resident typed (after checking the originals). Before signing only."""
        who = self._who(s, now, session, PROCESSORS)
        actor = who.name
        r = self._by_id(s, request)
        if r.status not in (LETTER_INCOMPLETE, LETTER_CHECKING) or r.fields_json is None:
            raise Conflict("letter_in_process", f"a request that is {r.status} cannot be edited")
        t = self._type(r.type_code)
        merged = json.loads(r.fields_json) | fields
        values, problems = check_fields(t, merged, self._today(now))
        if problems:
            raise CommandError("invalid_fields", "; ".join(f"{k}: {v}" for k, v in sorted(problems.items())))
        changed = sorted(k for k in values if values.get(k) != json.loads(r.fields_json).get(k))
        holder = values[holder_name_field(t)]
        nik_field = holder_nik_field(t)
        r.fields_json = json.dumps(values, ensure_ascii=False)
        r.holder_name, r.masked_name = holder, mask_name(holder)
        r.nik = values.get(nik_field) if nik_field else None
        r.updated_at = now
        self._history(s, r, now, "edited", r.status, actor, "fields: " + ", ".join(changed), r.status)
        audit_by(s, now, who, "letter.edit", _subject(r), address, {"request": r.id, "fields": changed})
        return Outcome({"id": r.id, "changed_fields": changed, "masked_name": r.masked_name}, changed=False)

    def _next_number(self, s: "Session", now: datetime, *, classification: str, sequence_key: str, pattern: str,
                     type_code: str | None, subject: str, masked: str, request_id: int | None,
                     actor: str) -> LetterNumber:
        on = now.astimezone(self.q.tz).date()
        last = s.scalar(select(func.max(LetterNumber.seq)).where(LetterNumber.sequence_key == sequence_key,
                                                                 LetterNumber.year == on.year)) or 0
        number = format_number(pattern, classification=classification, seq=last + 1,
                               village_code=self.letters.village_code, on=on)
        if s.scalar(select(LetterNumber.id).where(LetterNumber.number == number)) is not None:
            # Two sequences whose pattern and codes give the same text: an office's configuration problem.
            raise Conflict("number_taken", f"the number {number} is in the register already: give these letter "
                                           f"types patterns that differ, or the same sequence")
        row = LetterNumber(sequence_key=sequence_key, year=on.year, seq=last + 1, number=number,
                           classification=classification, type_code=type_code, subject=subject[:200],
                           masked_name=masked, request_id=request_id, issued_on=on, actor=actor, created_at=now)
        s.add(row)
        s.flush()
        return row

    def assign_number(self, s: "Session", now: datetime, request: int, session: str,
                      address: str | None = None) -> Outcome:
        who = self._who(s, now, session, PROCESSORS)
        actor = who.name
        r = self._by_id(s, request)
        if r.number is not None:
            seq = s.scalar(select(LetterNumber.seq).where(LetterNumber.number == r.number))
            return Outcome({"id": r.id, "number": r.number, "seq": seq, "already": True}, changed=False)
        if r.status != LETTER_CHECKING:
            raise Conflict("letter_in_process", f"only a request being checked gets a number (this one is {r.status})")
        t = self._type(r.type_code)
        row = self._next_number(s, now, classification=t.classification, sequence_key=t.sequence_key,
                                pattern=t.numbering, type_code=t.code, subject=t.name, masked=r.masked_name,
                                request_id=r.id, actor=actor)
        r.number, r.numbered_at, r.updated_at = row.number, now, now
        self._history(s, r, now, "numbered", r.status, actor, row.number, r.status)
        audit_by(s, now, who, "letter.number", _subject(r), address, {"request": r.id, "seq": row.seq})
        log.info("letter request %s numbered %s by %s", r.id, row.number, actor)
        return Outcome({"id": r.id, "number": row.number, "seq": row.seq, "already": False},
                       events=[self._event(r, now)], changed=False)   # the resident's page: a number, no cancel

    # Every refusal above comes before the first write, so numbering may share a transaction with other
    # commands of a burst (group commit): under many staff the numbers still come one by one, in order.
    assign_number.batch_safe = True

    def reserve_number(self, s: "Session", now: datetime, classification: str, subject: str, recipient: str,
                       session: str, sequence: str | None = None, type: str | None = None,
                       address: str | None = None) -> Outcome:
        """A number for a letter typed by hand, from the same sequence as the generated ones."""
        who = self._who(s, now, session, PROCESSORS)
        actor = who.name
        pattern = self.letters.types[0].numbering if self.letters.types else "{kode}/{nomor}/{kode_desa}/{bulan_romawi}/{tahun}"
        key = f"kode:{classification}"
        if type is not None:
            t = self._type(type)
            pattern, key, classification = t.numbering, t.sequence_key, t.classification
        else:
            key = sequence or key
            # The pattern of the letter types numbered from that sequence, so hand-typed letters look alike.
            same = next((t for t in self.letters.types if t.sequence_key == key), None)
            if same is not None:
                pattern = same.numbering
        row = self._next_number(s, now, classification=classification, sequence_key=key, pattern=pattern,
                                type_code=None, subject=subject, masked=mask_name(recipient), request_id=None,
                                actor=actor)
        audit(s, who.name, "letter.reserve_number", row.number, web_device(address),
              {"subject": subject[:100]}, now=now)
        log.info("letter number %s reserved by hand by %s", row.number, actor)
        return Outcome({"number": row.number, "seq": row.seq, "sequence": key, "issued_on": row.issued_on.isoformat()},
                       changed=False)

    def register(self, s: "Session", now: datetime, year: int, session: str, after: int | None = None,
                 address: str | None = None) -> Outcome:
        """The outgoing-letter register (buku agenda surat keluar) of a year: no personal data but masked names.
        In pages of at most :data:`~antre.rules.outcome.LIST_BYTES` of rows (a year of letters is far over one
        MQTT message): ``next`` is the ``after`` of the following page, null on the last one."""
        who = self._who(s, now, session, LISTERS)
        audit(s, who.name, "letter.register", str(year), web_device(address), {"after": after or 0}, now=now)
        status = dict(s.execute(select(LetterRequest.id, LetterRequest.status)).all())
        revoked = {i for (i,) in s.execute(select(LetterRequest.id).where(LetterRequest.revoked_at.is_not(None)))}
        query = select(LetterNumber).where(LetterNumber.year == year)
        if after is not None:
            last = s.get(LetterNumber, after)
            if last is None or last.year != year:
                raise CommandError("invalid_argument", "'after' is not a number of this year's register")
            query = query.where(or_(LetterNumber.issued_on > last.issued_on,
                                    and_(LetterNumber.issued_on == last.issued_on, LetterNumber.id > last.id)))
        numbers = list(s.scalars(query.order_by(LetterNumber.issued_on, LetterNumber.id)))

        def row(n: LetterNumber) -> dict[str, Any]:
            state = "manual" if n.request_id is None else status.get(n.request_id, "")
            if n.request_id in revoked:
                state = "revoked"
            return {"number": n.number, "seq": n.seq, "sequence": n.sequence_key,
                    "classification": n.classification, "issued_on": n.issued_on.isoformat(),
                    "type": n.type_code, "type_name": self._type_name(n.type_code) if n.type_code else None,
                    "subject": n.subject, "masked_name": n.masked_name, "manual": n.request_id is None,
                    "status": state, "actor": n.actor}

        rows = fit_rows(row(n) for n in numbers)
        following = numbers[len(rows) - 1].id if 0 < len(rows) < len(numbers) else None
        return Outcome({"year": year, "rows": rows, "next": following}, changed=False)

    def revoke(self, s: "Session", now: datetime, request: int, reason: str, session: str,
               address: str | None = None) -> Outcome:
        """A signed letter is withdrawn: its QR page says so from now on."""
        who = self._who(s, now, session, PROCESSORS | SIGNERS)
        actor = who.name
        r = self._by_id(s, request)
        if r.signed_at is None:
            raise Conflict("letter_not_signed", "only a signed letter can be revoked; cancel the request instead")
        if r.revoked_at is None:
            r.revoked_at, r.updated_at = now, now
            self._history(s, r, now, "revoked", r.status, actor, reason, r.status)
            audit_by(s, now, who, "letter.revoke", _subject(r), address, {"request": r.id, "reason": reason})
            log.info("letter request %s revoked by %s", r.id, actor)
        return Outcome({"id": r.id, "revoked_at": iso(r.revoked_at)}, changed=False)

    # ------------------------------------------------------------------ retention

    def purge(self, s: "Session", now: datetime) -> int:
        """Wipes the personal data of requests closed more than ``retention_days`` ago (a new-day hook)."""
        cutoff = now - timedelta(days=self.letters.retention_days)
        wiped = s.execute(update(LetterRequest).where(LetterRequest.closed_at < cutoff,
                                                      LetterRequest.anonymised_at.is_(None))
                          .values(holder_name=None, nik=None, fields_json=None, sms_phone=None,
                                  anonymised_at=now)).rowcount
        if wiped:
            audit(s, "system", "letter.purge", "", "service", {"requests": wiped,
                                                               "retention_days": self.letters.retention_days}, now=now)
            log.info("retention: wiped the personal data of %d closed letter request(s)", wiped)
        return wiped


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    rules = LetterRules(q)
    q.new_day_hooks.append(rules.purge)
    q.read_only.update({"letter_status", "letter_list", "letter_get", "letter_register", "letter_verify",
                        "letter_catalogue"})
    q.letters = rules   # for tests and the reports
    return rules.handlers()



FORM_KEYS = ("code", "name", "name_en", "purpose", "requirements", "days", "cost")


def _form(t: LetterTypeConfig) -> dict[str, Any]:
    """A letter type as a resident's form needs it (``letter_catalogue`` with ``forms``): what it is for,
    what to bring, and the fields; not the numbering, template or body, which only staff's letters use."""
    out = {key: getattr(t, key) for key in FORM_KEYS}
    out["fields"] = [dataclasses.asdict(f) for f in t.fields]
    return out

__all__ = ["handlers", "LetterRules", "TRANSITIONS", "tracking_code_ok", "new_tracking_code", "status_ref",
           "format_number", "CANCELLABLE", "PROCESSORS", "SIGNERS", "READERS", "LISTERS"]
