"""The office's FAQ as the console edits it, and the staff inbox of questions the assistant could not answer.

A plug-in of :class:`~antre.rules.queue.QueueService`, registered after the notify plug-in (it answers for it:
``NotifyRules.answer``).

**The FAQ** (table ``faq_entries``): question variants, the answer, links, on/off. ``[[notify.faq]]`` in the
configuration seeds the table once, at ``antre serve`` start (:meth:`QuestionRules.at_start`) or else the
first time the service needs the FAQ, on a database that has never had one (``meta`` ``faq.seeded``), with
only the entries the console would accept (bad ones are logged and left out, never refused); after that the
table is the truth and the configuration's entries are not read again (docs/sms.md, "Upgrading"). The kasi or an admin edits it (``faq_save``, ``faq_delete``, audited
``faq.save`` / ``faq.delete``); the assistant (:class:`antre.rules.faq.Assistant`) is rebuilt when the change
is committed, without a restart.

**The inbox** (table ``resident_questions``): a question the assistant is not sure of, from SMS (stored at
once, :meth:`QuestionRules.unanswered`), from the website or the kiosk when the resident chooses to send it to
a person (``question_submit``), or from another channel's adapter (Telegram, WhatsApp) through the same
:meth:`QuestionRules.unanswered`. Staff (petugas, kasi) read and answer it (``question_list``,
``question_get``, ``question_answer``, ``question_dismiss``; views and changes audited); the answer goes back
through the outbox on the channel it came from (``NotifyRules.notify(..., channel=...)``): SMS now; for the
website and kiosk, an SMS only when the resident gave a number and opted in, and always the page
``/tanya/{code}``. Limits: ``[notify] question_daily_limit`` per sender and ``question_office_daily`` in all,
a day. Texts and numbers never travel in events or retained state, and are never logged.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import delete, event, func, select, update

from antre.addresses import limit_key
from antre.errors import CommandError, Conflict, NotFound
from antre.rules.question_codes import clean_question_code, format_question_code, new_question_code
from antre.faq_text import FAQ_BYTES, MAX_ANSWER, clean_entry, entry_bytes, seed_plan
from antre.faq_text import no_markup as _no_markup
from antre.faq_text import plain as _plain
from antre.rules.outcome import Outcome, fit_rows
from antre.rules.sms_text import mask, msisdn, phone_key
from antre.rules.staff import audit, authenticate, web_device
from antre.storage.models import FaqItem, Meta, ResidentQuestion

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.faq import Assistant
    from antre.rules.notify import NotifyRules
    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

EDITORS = ("kasi", "admin")        # the FAQ (the brief: Kasi Pelayanan or an admin)
HANDLERS = ("kasi", "petugas")     # the inbox
CHANNELS = ("sms", "web", "kiosk", "telegram", "whatsapp")
OPEN, ANSWERED, DISMISSED = "open", "answered", "dismissed"
MAX_QUESTION = 300
LIST_LIMIT = 200
#: faq_common: the kiosk's and the website's buttons; at most this many (each at most 200 characters).
COMMON_DEFAULT, COMMON_MAX = 4, 8


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


@dataclass(frozen=True)
class FaqRow:
    """An FAQ entry as the assistant and the pages see it."""

    id: int
    questions: tuple[str, ...]
    answer: str
    links: tuple[str, ...]
    active: bool

    @classmethod
    def of(cls, row: FaqItem) -> "FaqRow":
        return cls(row.id, tuple(json.loads(row.questions)), row.answer, tuple(json.loads(row.links)),
                   bool(row.active))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "questions": list(self.questions), "answer": self.answer, "links": list(self.links),
                "active": self.active}


class QuestionRules:
    """The FAQ book and the question inbox of one :class:`QueueService`."""

    def __init__(self, q: "QueueService"):
        self.q = q
        self.n = q.cfg.notify
        self._rows: list[FaqRow] | None = None       # None: not loaded yet (loaded in the first transaction)
        self._assistant: "Assistant | None" = None

    def handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {"faq_list": self.faq_list, "faq_common": self.faq_common, "faq_save": self.faq_save, "faq_delete": self.faq_delete,
                "question_submit": self.submit, "question_status": self.status, "question_list": self.list,
                "question_get": self.get, "question_answer": self.answer_question,
                "question_dismiss": self.dismiss}

    @property
    def notify(self) -> "NotifyRules":
        return self.q.plugins["notify"]

    # ------------------------------------------------------------------ the FAQ and the assistant

    def _ensure(self, s: "Session") -> list[FaqRow]:
        if self._rows is None:
            if s.get(Meta, "faq.seeded") is None:
                self._seed(s)
            self._use([FaqRow.of(r) for r in s.scalars(select(FaqItem).order_by(FaqItem.id))])
        return self._rows or []

    def _seed(self, s: "Session") -> None:
        """``[[notify.faq]]`` into the table, once per database: only the entries the console would accept,
        cleaned as it cleans them, in order, stopping before the book would exceed FAQ_BYTES
        (antre/faq_text.py ``seed_plan``). Each entry left out is logged (its number, the first 40 characters
        of its first way of asking, the reason) and counted in the ``faq.seed`` audit row."""
        now = self.q.clock.now()
        taken, skipped = seed_plan((list(e.questions), e.answer, list(e.links)) for e in self.n.faq)
        for variants, answer, links in taken:
            s.add(FaqItem(questions=json.dumps(variants, ensure_ascii=False), answer=answer,
                          links=json.dumps(links, ensure_ascii=False),
                          active=1, origin="config", created_at=now, updated_at=now, updated_by="setup"))
        s.add(Meta(key="faq.seeded", value=now.isoformat()))
        s.flush()
        if self.n.faq:
            audit(s, "setup", "faq.seed", "", "service",
                  {"entries": len(taken), "skipped": len(skipped), "in_config": len(self.n.faq)}, now=now)
            log.info("FAQ: %d of the configuration's %d entries taken into the database", len(taken),
                     len(self.n.faq))
            for sk in skipped:
                log.warning("FAQ seed: %s", sk.sentence())

    def at_start(self) -> None:
        """At ``antre serve`` start: seeds a non-empty ``[[notify.faq]]`` on a database that never had a FAQ
        (logging what it leaves out, once), or says in one line that the configuration's ``[[notify.faq]]`` is
        no longer used. Never stops the start: a failure is logged and the seed is tried again when the FAQ is
        first needed."""
        try:
            with self.q.sessions() as s, s.begin():
                seeded = s.get(Meta, "faq.seeded")
                if seeded is None:
                    if self.n.faq:   # an empty section is left to the first need, as before (added later: seeded)
                        self._seed(s)
                elif self.n.faq:
                    log.info("FAQ: [[notify.faq]] (%d entries) is no longer used: the FAQ was taken into the "
                             "database on %s and is edited in the console", len(self.n.faq), seeded.value[:10])
        except Exception:   # the queue must not stop over the FAQ
            log.exception("FAQ: could not check or seed the FAQ at start; trying again when it is needed")

    def _use(self, rows: list[FaqRow]) -> None:
        self._rows = rows
        active = [r for r in rows if r.active]
        if active:
            from antre.rules.faq import Assistant   # PySastrawi is loaded only for an office with a FAQ

            self._assistant = Assistant(active)
        else:
            self._assistant = None

    def _rebuild_after_commit(self, s: "Session") -> None:
        rows = [FaqRow.of(r) for r in s.scalars(select(FaqItem).order_by(FaqItem.id))]
        event.listen(s, "after_commit", lambda _s: self._use(rows), once=True)

    def answer(self, s: "Session", question: str) -> str | None:
        """The assistant's answer to ``question``, or None when it is not sure (or there is no FAQ)."""
        self._ensure(s)
        return self._assistant.answer(question) if self._assistant is not None and question.strip() else None

    def _editor(self, s: "Session", now: datetime, session: str):
        return authenticate(s, now, session, EDITORS)

    def faq_list(self, s: "Session", now: datetime, session: str, address: str | None = None) -> Outcome:
        self._editor(s, now, session)
        return Outcome({"entries": [r.as_dict() for r in self._ensure(s)]}, changed=False)

    def faq_common(self, s: "Session", now: datetime, limit: int | None = None) -> Outcome:
        """The common questions for the buttons (public, read-only): the first way of asking of the first
        ``limit`` switched-on entries, in the console's order; no answers (``ask`` gives those)."""
        limit = COMMON_DEFAULT if limit is None else limit
        if not 1 <= limit <= COMMON_MAX:
            raise CommandError("invalid_argument", f"'limit' is 1 to {COMMON_MAX}")
        out: list[str] = []
        for row in self._ensure(s):
            q = row.questions[0] if row.active and row.questions else ""
            if q and q not in out:
                out.append(q)
            if len(out) == limit:
                break
        return Outcome({"questions": out}, changed=False)

    def faq_save(self, s: "Session", now: datetime, session: str, questions: list[str], answer: str,
                 links: list[str] | None = None, active: bool = True, entry: int | None = None,
                 question: int | None = None, address: str | None = None) -> Outcome:
        """Adds or changes an entry (``entry``); ``question``: made from that answered inbox question."""
        who = self._editor(s, now, session)
        self._ensure(s)
        variants, answer, clean_links = clean_entry(questions, answer, links)
        source = None
        if question is not None:
            source = s.get(ResidentQuestion, question)
            if source is None:
                raise NotFound("question_not_found", f"no question {question}")
        if entry is not None:
            row = s.get(FaqItem, entry)
            if row is None:
                raise NotFound("faq_not_found", f"no FAQ entry {entry}")
        else:
            row = FaqItem(origin="question" if source is not None else "console", created_at=now)
            s.add(row)
        row.questions = json.dumps(variants, ensure_ascii=False)
        row.answer, row.links, row.active = answer, json.dumps(clean_links, ensure_ascii=False), int(bool(active))
        row.updated_at, row.updated_by = now, who.name
        s.flush()
        size = sum(entry_bytes(FaqRow.of(r).as_dict()) for r in s.scalars(select(FaqItem)))
        if size > FAQ_BYTES:   # (the transaction is rolled back: nothing is saved)
            raise CommandError("faq_full", f"the FAQ would be {size} bytes, over {FAQ_BYTES}: shorten or delete "
                                           "entries first (the console shows it whole)")
        if source is not None:
            source.faq_id = row.id
        audit(s, who.name, "faq.save", f"faq {row.id}", web_device(address),
              {"new": entry is None, "variants": len(variants), "active": bool(active),
               "from_question": question}, now=now)
        self._rebuild_after_commit(s)
        # Not the texts: a change's reply is kept in the request log (an entry may quote a resident's question).
        return Outcome({"id": row.id, "variants": len(variants), "active": bool(active)}, changed=False)

    def faq_delete(self, s: "Session", now: datetime, session: str, entry: int, address: str | None = None) -> Outcome:
        who = self._editor(s, now, session)
        self._ensure(s)
        row = s.get(FaqItem, entry)
        if row is None:
            raise NotFound("faq_not_found", f"no FAQ entry {entry}")
        first = json.loads(row.questions)[0] if row.questions else ""
        s.delete(row)
        s.flush()
        audit(s, who.name, "faq.delete", f"faq {entry}", web_device(address), {"question": first[:80]}, now=now)
        self._rebuild_after_commit(s)
        return Outcome({"id": entry, "deleted": True}, changed=False)

    # ------------------------------------------------------------------ the inbox: residents

    def _key(self, s: "Session", channel: str, address: str) -> str:
        return phone_key(self.notify.secret(s), f"{channel}:{address}")

    def _over_limit(self, s: "Session", now: datetime, key: str | None, limit: int | None = None) -> str | None:
        today = self.q.business_date(now)
        if key is not None:
            mine = s.scalar(select(func.count()).select_from(ResidentQuestion).where(
                ResidentQuestion.business_date == today, ResidentQuestion.address_key == key)) or 0
            if mine >= (limit or self.n.question_daily_limit):
                return "sender_limit"
        office = s.scalar(select(func.count()).select_from(ResidentQuestion).where(
            ResidentQuestion.business_date == today)) or 0
        return "office_limit" if office >= self.n.question_office_daily else None

    def unanswered(self, s: "Session", now: datetime, channel: str, address: str | None, text: str,
                   source_key: str | None = None, notify: bool = True, sender: str | None = None,
                   kiosk: str | None = None) -> ResidentQuestion | None:
        """Stores a question for the staff, in the caller's transaction (the seam for every channel: SMS here,
        the Telegram and WhatsApp adapters' inbound messages alike). ``address``: where the answer goes on
        ``channel``; ``sender``: what the flood limit counts by when there is no address (the website's client
        address); ``kiosk``: the kiosk device it was typed on (its residents share one screen: counted per
        device against ``question_kiosk_daily``). Returns the row (the existing one for a ``source_key`` already stored), or None when the
        sender or the office is over the day's limit."""
        if channel not in CHANNELS:
            raise CommandError("invalid_argument", f"channel must be one of {', '.join(CHANNELS)}")
        if source_key is not None:
            existing = s.scalars(select(ResidentQuestion).where(ResidentQuestion.source_key == source_key)).first()
            if existing is not None:
                return existing
        text = _plain(text, MAX_QUESTION, "question")
        # The flood limit counts per sender: the website's client address, else the reply address; a kiosk's
        # residents share one screen, so it counts per kiosk device, with a limit of its own.
        who = f"kiosk:{kiosk}" if kiosk else f"from:{sender}" if sender else f"{channel}:{address}" if address else None
        key = self._key(s, "sender", who or f"{channel}:shared")
        over = self._over_limit(s, now, key if who else None, self.n.question_kiosk_daily if kiosk else None)
        if over is not None:
            log.info("question from %s on %s not stored: %s", mask(address) if address else "a resident", channel,
                     over)
            return None
        code = new_question_code()
        while s.scalar(select(ResidentQuestion.id).where(ResidentQuestion.code == code)) is not None:
            code = new_question_code()
        row = ResidentQuestion(code=code, channel=channel, address=address, address_key=key,
                               notify=int(bool(notify and address)), text=text, state=OPEN, source_key=source_key,
                               business_date=self.q.business_date(now),
                               created_at=self.q.recorded_time(now))   # the held day's while the clock is doubted
        s.add(row)
        s.flush()
        log.info("question %s on %s for the staff", row.id, channel)
        return row

    def submit(self, s: "Session", now: datetime, question: str, channel: str, phone: str | None = None,
               notify: bool = False, address: str | None = None, kiosk: str | None = None) -> Outcome:
        """The website's or kiosk's "send my question to a person": the code to read the answer with. ``kiosk``:
        the sending kiosk device's client id, set by the service from the topic (never by the device)."""
        if channel not in ("web", "kiosk"):
            raise CommandError("invalid_argument", "question_submit is for channel web or kiosk")
        if phone is not None:
            phone = msisdn(phone)
            if phone is None:
                raise CommandError("invalid_phone", "an Indonesian mobile number such as 0812...")
        if notify and not phone:
            raise CommandError("missing_argument", "an SMS answer needs a phone number")
        row = self.unanswered(s, now, channel, phone if notify else None, question, notify=notify,
                              sender=limit_key(address) if channel == "web" and address else None, kiosk=kiosk)
        if row is None:
            raise Conflict("too_many_questions", "the inbox takes no more questions from here today")
        return Outcome({"code": row.code, "sms": bool(row.notify)}, changed=False)

    def status(self, s: "Session", now: datetime, code: str) -> Outcome:
        """What the resident holding the code reads: their question, its state and the answer."""
        row = s.scalars(select(ResidentQuestion).where(ResidentQuestion.code == code)).first()
        if row is None:
            raise NotFound("question_not_found", "no question with this code (or it is older than the office "
                                                 "keeps questions)")
        return Outcome({"code": row.code, "state": row.state, "question": row.text,
                        "answer": row.answer if row.state == ANSWERED else None,
                        "asked_at": iso(row.created_at), "answered_at": iso(row.answered_at)}, changed=False)

    # ------------------------------------------------------------------ the inbox: staff

    def _row(self, r: ResidentQuestion) -> dict[str, Any]:
        return {"id": r.id, "code": r.code, "channel": r.channel, "state": r.state, "text": r.text,
                "to": mask(r.address) if r.address else None, "sms": bool(r.notify), "answer": r.answer,
                "answered_by": r.answered_by, "answered_at": iso(r.answered_at), "reply": r.reply_state,
                "faq": r.faq_id, "asked_at": iso(r.created_at)}

    def list(self, s: "Session", now: datetime, session: str, state: str | None = None,
             address: str | None = None) -> Outcome:
        """The inbox, open ones oldest first (the others newest first), as many as fit in one reply (:func:`fit_rows`)
        (``more``: how many of that state are not shown); numbers masked. Each showing is audited
        (``question.list``): the texts are residents' words."""
        who = authenticate(s, now, session, HANDLERS)
        state = state or OPEN
        if state not in (OPEN, ANSWERED, DISMISSED):
            raise CommandError("invalid_argument", "state is open, answered or dismissed")
        order = ResidentQuestion.id if state == OPEN else ResidentQuestion.id.desc()
        items = fit_rows(self._row(r) for r in s.scalars(select(ResidentQuestion).where(ResidentQuestion.state == state)
                                                         .order_by(order).limit(LIST_LIMIT)))
        counts = {st: n for st, n in s.execute(select(ResidentQuestion.state, func.count())
                                               .group_by(ResidentQuestion.state))}
        audit(s, who.name, "question.list", state, web_device(address), {"shown": len(items)}, now=now)
        return Outcome({"items": items, "counts": counts, "state": state,
                        "more": counts.get(state, 0) - len(items)}, changed=False)

    def get(self, s: "Session", now: datetime, session: str, question: int, address: str | None = None) -> Outcome:
        who = authenticate(s, now, session, HANDLERS)
        r = s.get(ResidentQuestion, question)
        if r is None:
            raise NotFound("question_not_found", f"no question {question}")
        audit(s, who.name, "question.view", f"question {r.id}", web_device(address), now=now)
        return Outcome(self._row(r), changed=False)

    def _reply_text(self, r: ResidentQuestion, answer: str) -> str:
        office = self.q.cfg.office.name
        return f"{office} menjawab pertanyaan Anda: {answer}"

    def answer_question(self, s: "Session", now: datetime, session: str, question: int, text: str,
                        address: str | None = None) -> Outcome:
        """The staff's answer: stored, and sent through the outbox on the question's channel (once)."""
        who = authenticate(s, now, session, HANDLERS)
        r = s.get(ResidentQuestion, question)
        if r is None:
            raise NotFound("question_not_found", f"no question {question}")
        if r.state != OPEN:
            raise Conflict("already_answered" if r.state == ANSWERED else "question_closed",
                           f"this question is already {r.state} (by {r.answered_by})")
        text = _no_markup(_plain(text, MAX_ANSWER, "answer", lines=True), "answer")
        r.state, r.answer, r.answered_by, r.answered_at = ANSWERED, text, who.name, self.q.recorded_time(now)
        r.reply_state = "page_only"
        if r.address and r.notify:
            channel = "sms" if r.channel in ("web", "kiosk") else r.channel
            # The key names the question by id and code: retention deletes old questions and an emptied table
            # numbers from 1 again, but the outbox (idempotent on the key) keeps its rows.
            sent = self.notify.notify(s, now, f"q{r.id}-{r.code}:answer", "question_answer", r.address,
                                      self._reply_text(r, text), channel=channel)
            r.reply_state = "queued" if sent is not None and sent.state != "skipped" else \
                (f"skipped:{sent.reason}" if sent is not None else f"no_{channel}")
        audit(s, who.name, "question.answer", f"question {r.id}", web_device(address),
              {"channel": r.channel, "reply": r.reply_state}, now=now)
        log.info("question %s answered by %s (%s)", r.id, who.name, r.reply_state)
        # Not the texts: a change's reply is kept in the request log.
        return Outcome({"id": r.id, "state": r.state, "reply": r.reply_state}, changed=False)

    def dismiss(self, s: "Session", now: datetime, session: str, question: int, address: str | None = None) -> Outcome:
        """Closes a question without an answer (spam, a duplicate, answered in person)."""
        who = authenticate(s, now, session, HANDLERS)
        r = s.get(ResidentQuestion, question)
        if r is None:
            raise NotFound("question_not_found", f"no question {question}")
        if r.state != OPEN:
            raise Conflict("question_closed", f"this question is already {r.state}")
        r.state, r.answered_by, r.answered_at = DISMISSED, who.name, self.q.recorded_time(now)
        audit(s, who.name, "question.dismiss", f"question {r.id}", web_device(address), now=now)
        return Outcome({"id": r.id, "state": r.state}, changed=False)

    # ------------------------------------------------------------------ retention

    def purge(self, s: "Session", now: datetime) -> None:
        """A new-day hook. The number (or chat id) of an answered or dismissed question is wiped like the
        outbox's numbers, ``[notify] retention_days`` after the day it was answered (an open question keeps it:
        the answer still has to go there); questions older than ``question_retention_days`` are deleted
        (text, number and answer)."""
        today = self.q.clock_date(now)
        cutoff: date = today - timedelta(days=self.n.question_retention_days)
        gone = s.execute(delete(ResidentQuestion).where(ResidentQuestion.business_date < cutoff)).rowcount
        wiped = s.execute(update(ResidentQuestion).where(
            ResidentQuestion.state != OPEN, ResidentQuestion.address.is_not(None),
            ResidentQuestion.answered_at < self.q.day_start(today - timedelta(days=self.n.retention_days)))
            .values(address=None)).rowcount
        if gone or wiped:
            audit(s, "system", "question.purge", "", "service", {"questions": gone, "numbers": wiped}, now=now)
            log.info("retention: %d resident question(s) deleted, %d number(s) wiped", gone, wiped)


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    """The FAQ and question-inbox commands for ``q`` (register after the notify plug-in)."""
    rules = QuestionRules(q)
    q.plugins["questions"] = rules
    q.new_day_hooks.append(rules.purge)
    q.read_only.update({"faq_list", "faq_common", "question_status", "question_list", "question_get"})
    return rules.handlers()


__all__ = ["handlers", "QuestionRules", "FaqRow", "format_question_code", "clean_question_code"]
