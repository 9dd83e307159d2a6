"""Complaints, suggestions and requests for information (pengaduan, aspirasi, permintaan informasi).

A plug-in of :class:`~antre.rules.queue.QueueService` (:func:`handlers`): every command runs in the service's
single writer, one transaction each. Categories as the national LAPOR!-SP4N classifies reports; topics are
the office's own (``[complaints] topics``).

Statuses and who moves a complaint where (the kasi; a petugas only on complaints assigned to them)::

    diterima ──> diverifikasi ──> diproses ──> selesai          (a published answer closes it)
        └──────────┴────────────────┴──> ditolak / bukan_wewenang   (with the reason and where to go instead)

Service levels, counted in working days on the office calendar (:mod:`antre.opening`: weekdays it opens,
minus holidays): verified within ``[complaints] verify_days`` (3) of submission, answered within
``answer_days``. Late ones are *overdue* in the inbox.

What a resident holding the tracking code sees (:meth:`ComplaintRules.status`): the category, topic, status,
the reason and referral, their own words and the staff's published replies. Never: internal notes, who
handles it, the contact. An anonymous complaint stores no name and no phone at all. Personal data (contact,
texts) travels only in ``complaint_submit`` / ``complaint_add`` and in direct replies to read-only questions;
events name a hash of the code and the status only. Staff views are audited (``complaint.view``).
"""

from __future__ import annotations

import logging
import re
import statistics
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import func, select, update

from antre import opening
from antre.errors import CommandError, Conflict, Forbidden, NotFound
from antre.rules.complaint_codes import (
    CATEGORIES, DONE, IN_PROCESS, NOT_OURS, PHOTO_NAME, RECEIVED, REFUSED, STATUSES, VERIFIED, complaint_code_ok,
    complaint_ref, clean_complaint_code, format_complaint_code, new_complaint_code, photo_folder,
)
from antre.rules.letter_fields import mask_name
from antre.rules.outcome import Outcome, fit_rows
from antre.rules.sms_text import mask
from antre.rules.staff import Account, audit, audit_by, authenticate
from antre.storage.models import ChatLink, Complaint, ComplaintMessage, StaffAccount

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

OPEN = (RECEIVED, VERIFIED, IN_PROCESS)
CLOSED = (DONE, REFUSED, NOT_OURS)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    RECEIVED: (VERIFIED, IN_PROCESS, REFUSED, NOT_OURS),
    VERIFIED: (IN_PROCESS, REFUSED, NOT_OURS),
    IN_PROCESS: (VERIFIED, REFUSED, NOT_OURS),
    DONE: (IN_PROCESS,),          # reopened
    REFUSED: (RECEIVED,),
    NOT_OURS: (RECEIVED,),
}
HANDLERS = ("kasi", "petugas")    # the inbox; a petugas only what is assigned to them
MANAGERS = ("kasi",)              # assign, merge, the monthly summary
MAX_RESIDENT_MESSAGES = 20
LIST_LIMIT = 300
#: complaint_get's thread (newest first kept) and duplicates at most (JSON bytes), with the complaint's own text
#: (2 000 characters) under the service's 64 512-byte reply limit.
THREAD_BYTES, DUPLICATES_BYTES = 30_000, 12_000


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


def clean_text(text: str, limit: int) -> str:
    """The resident's or staff's text as plain text: control characters out (newlines kept), trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c == "\n" or c == "\t" or (ord(c) >= 32 and ord(c) != 127))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not text:
        raise CommandError("empty_text", "the text is empty")
    if len(text) > limit:
        raise CommandError("text_too_long", f"at most {limit} characters")
    return text


#: Words residents use for the usual topics (only topics the office configured are chosen). A text naming the
#: topic itself (``infrastruktur``) or one of these words picks it; otherwise the general topic.
TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "pelayanan": ("pelayanan", "layanan", "petugas", "loket", "antre", "antri", "pungli", "pungutan", "surat"),
    "infrastruktur": ("infrastruktur", "jalan", "jembatan", "lampu", "selokan", "gorong", "irigasi", "aspal",
                      "berlubang", "rusak", "listrik", "air"),
    "bansos": ("bansos", "bantuan", "blt", "pkh", "sembako", "bpnt", "raskin", "beras"),
    "kesehatan": ("kesehatan", "puskesmas", "posyandu", "bidan", "stunting", "bpjs", "sakit", "demam"),
    "pendidikan": ("pendidikan", "sekolah", "guru", "beasiswa", "paud", "kip"),
    "keamanan": ("keamanan", "maling", "pencurian", "curi", "ronda", "keributan", "narkoba"),
    "lingkungan": ("lingkungan", "sampah", "banjir", "limbah", "pohon", "longsor", "bau"),
}
GENERAL_TOPIC = "lainnya"
#: An SMS complaint shorter than this (characters, or two words) is answered with an instruction instead.
SMS_MIN_CHARS = 10
#: Channels a complaint comes on by message (ADUAN): counted together against ``message_office_daily``.
MESSAGE_CHANNELS = ("sms", "telegram", "whatsapp")


def topic_of(text: str, topics: list[str]) -> str:
    """The office topic ``text`` names (the topic's own name, or a word of :data:`TOPIC_WORDS`, forgiving of
    typos in words of 5 letters or more); else ``lainnya`` when the office has it, else its last topic."""
    from rapidfuzz import fuzz

    words = re.findall(r"[a-z]+", text.lower())
    scores: dict[str, float] = {}
    for topic in topics:
        names = (topic,) + TOPIC_WORDS.get(topic, ())
        best = 0.0
        for w in words:
            for n in names:
                if w == n:
                    best = max(best, 100.0)
                elif len(w) >= 5 and len(n) >= 5:
                    best = max(best, fuzz.ratio(w, n))
        if best >= 85.0:
            scores[topic] = best + (1.0 if topic in words else 0.0)   # the topic's own name wins a tie
    if scores:
        return max(topics, key=lambda t: (scores.get(t, 0.0), -topics.index(t)))
    return GENERAL_TOPIC if GENERAL_TOPIC in topics else topics[-1]


def _subject(c: Complaint | None) -> str:
    """What the audit log names a complaint by."""
    return f"complaint {c.id}" if c is not None else ""


class ComplaintRules:
    """The complaint commands of one :class:`QueueService`."""

    def __init__(self, q: "QueueService"):
        self.q = q

    @property
    def conf(self):
        return self.q.cfg.complaints

    def handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {name: self.q.with_recorded_time(fn) for name, fn in self._handlers().items()}

    def _handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {
            "complaint_submit": self.submit, "complaint_status": self.status, "complaint_add": self.add,
            "complaint_rate": self.rate, "complaint_list": self.list, "complaint_get": self.get,
            "complaint_set_status": self.set_status, "complaint_reply": self.reply, "complaint_note": self.note,
            "complaint_assign": self.assign, "complaint_merge": self.merge, "complaint_summary": self.summary,
        }

    # ------------------------------------------------------------------ helpers

    def _today(self, now: datetime) -> date:
        return self.q.business_date(now)

    def working_days_after(self, start: date, days: int) -> date:
        """``days`` working days after ``start`` on the office calendar (open weekdays, minus holidays)."""
        office = self.q.cfg.office
        d, left = start, days
        for _ in range(opening.HORIZON_DAYS):
            if left <= 0:
                return d
            d += timedelta(days=1)
            if opening.hours_on(office, d) is not None:
                left -= 1
        return start + timedelta(days=days)   # an office that never opens: calendar days

    def _by_code(self, s: "Session", code: str) -> Complaint:
        c = s.scalars(select(Complaint).where(Complaint.code == code)).first()
        if c is None:
            raise NotFound("complaint_not_found", "no complaint with this tracking code")
        return c

    def _by_id(self, s: "Session", complaint: int) -> Complaint:
        c = s.get(Complaint, complaint)
        if c is None:
            raise NotFound("complaint_not_found", f"no complaint {complaint}")
        return c

    def _event(self, c: Complaint, now: datetime) -> tuple[str, dict[str, Any]]:
        return "complaint_status", {"ref": complaint_ref(c.code), "status": c.status, "time": iso(now)}

    def _events(self, s: "Session", c: Complaint, now: datetime) -> list[tuple[str, dict[str, Any]]]:
        """The complaint's event and those of the duplicates merged into it (their pages follow it)."""
        out = [self._event(c, now)]
        for d in s.scalars(select(Complaint).where(Complaint.merged_into == c.id)):
            out.append(("complaint_status", {"ref": complaint_ref(d.code), "status": c.status, "time": iso(now)}))
        return out

    def _message(self, s: "Session", c: Complaint, now: datetime, kind: str, author: str, text: str | None,
                 public: bool) -> ComplaintMessage:
        m = ComplaintMessage(complaint_id=c.id, at=now, kind=kind, author=author, public=int(public), text=text)
        s.add(m)
        s.flush()
        return m

    def _flags(self, c: Complaint, today: date) -> dict[str, Any]:
        verify_late = c.status == RECEIVED and today > c.verify_due
        answer_late = c.status in OPEN and c.answered_at is None and today > c.answer_due
        return {"verify_due": c.verify_due.isoformat(), "answer_due": c.answer_due.isoformat(),
                "verify_overdue": verify_late, "answer_overdue": answer_late, "overdue": verify_late or answer_late}

    def _handler(self, s: "Session", now: datetime, session: str, c: Complaint | None = None) -> Account:
        who = authenticate(s, now, session, HANDLERS)
        if c is not None and who.role != "kasi" and c.assigned_to != who.name:
            raise Forbidden("forbidden", "a petugas handles only the complaints assigned to them")
        return who

    # ------------------------------------------------------------------ residents

    def submit(self, s: "Session", now: datetime, category: str, topic: str, text: str, anonymous: bool = False,
               name: str | None = None, phone: str | None = None, notify: bool = False, photo: str | None = None,
               channel: str = "web") -> Outcome:
        if category not in CATEGORIES:
            raise CommandError("unknown_category", f"category must be one of {', '.join(CATEGORIES)}")
        if topic not in self.conf.topics:
            raise NotFound("unknown_topic", f"no topic '{topic}' (topics: {', '.join(self.conf.topics)})")
        text = clean_text(text, self.conf.max_text)
        if photo is not None and not PHOTO_NAME.fullmatch(photo):
            raise CommandError("invalid_photo", "a photo is named by the website after its content")
        if anonymous:
            name = phone = None   # nothing that names the resident is stored
            notify = False
        elif not name and not phone:
            raise CommandError("missing_contact", "a name or a phone number, or 'anonymous'")
        if notify and not phone:
            raise CommandError("missing_argument", "an SMS needs a phone number")
        today = self._today(now)
        code = new_complaint_code()
        while s.scalar(select(Complaint.id).where(Complaint.code == code)) is not None:
            code = new_complaint_code()
        c = Complaint(code=code, category=category, topic=topic, channel=channel, status=RECEIVED, text=text,
                      photo=photo, anonymous=int(bool(anonymous)), contact_name=name, contact_phone=phone,
                      notify=int(bool(notify)), created_at=now, updated_at=now,
                      verify_due=self.working_days_after(today, self.conf.verify_days),
                      answer_due=self.working_days_after(today, self.conf.answer_days))
        s.add(c)
        s.flush()
        self._message(s, c, now, "resident", "warga", text, True)
        log.info("complaint %s: %s/%s from %s%s", c.id, category, topic, channel, " (anonymous)" if anonymous else "")
        return Outcome(self._public(s, c, today), events=[self._event(c, now)], changed=False)

    def submit_message(self, s: "Session", now: datetime, who, text: str, category: str) -> str:
        """``ADUAN <teks>`` (or ``ASPIRASI``) from a resident's message: a complaint on the message's channel
        (``sms``, ``telegram``, ``whatsapp``; ``who`` is antre.rules.notify's ``Sender``) with its topic read
        from the text; returns the answer (the tracking code and the status link, or an instruction).

        Runs in the message command's transaction, whose request id names the message: read again after a
        crash, it is a replay and files nothing twice. ``[complaints] sms_daily_limit`` per sender a day. By
        SMS the number is the contact and the answer comes by SMS; from a chat no number is stored, the chat
        follows the complaint (its answer goes there: NotifyRules.follow)."""
        word = "ASPIRASI" if category == "aspirasi" else "ADUAN"
        cleaned = " ".join(text.split())
        if len(cleaned) < SMS_MIN_CHARS or len(cleaned.split()) < 2:
            return (f"Tulis {word} lalu isi laporan Anda, mis. {word} lampu jalan di RT 03 mati sejak seminggu. "
                    f"Jangan tulis NIK.")
        if len(cleaned) > self.conf.max_text:
            cleaned = cleaned[:self.conf.max_text]
        today = self._today(now)
        sms = who.channel == "sms"
        if sms:
            filed = s.scalar(select(func.count()).select_from(Complaint).where(
                Complaint.channel == "sms", Complaint.contact_phone == who.address,
                Complaint.created_at >= self.q.day_start(today))) or 0
        else:
            filed = s.scalar(select(func.count()).select_from(ChatLink).where(
                ChatLink.channel == who.channel, ChatLink.address == who.address, ChatLink.item.like("complaint%"),
                ChatLink.created_at >= self.q.day_start(today))) or 0
        if filed >= self.conf.sms_daily_limit:
            return (f"Anda sudah mengirim {filed} laporan hari ini. Laporan berikutnya bisa dikirim besok, "
                    f"atau datang ke {self.q.cfg.office.name}.")
        # All senders together: a flood from many numbers or chats must not file without end (each complaint has
        # its working-day deadlines, each is answered by a message). The website's form is not counted here.
        by_message = s.scalar(select(func.count()).select_from(Complaint).where(
            Complaint.channel.in_(MESSAGE_CHANNELS), Complaint.created_at >= self.q.day_start(today))) or 0
        if by_message >= self.conf.message_office_daily:
            log.info("complaint by %s from %s not filed: %d by message today ([complaints] message_office_daily)",
                     who.channel, mask(who.address), by_message)
            base = self.q.cfg.web.public_url.rstrip("/")
            where = f"lewat {base}/pengaduan atau datang ke {self.q.cfg.office.name}" if base else \
                f"datang ke {self.q.cfg.office.name}"
            return f"Maaf, laporan lewat pesan hari ini sudah terlalu banyak. Silakan kirim {where}."
        topic = topic_of(cleaned, list(self.conf.topics))
        if sms:
            out = self.submit(s, now, category=category, topic=topic, text=cleaned, phone=who.address, notify=True,
                              channel="sms").result
        else:
            out = self.submit(s, now, category=category, topic=topic, text=cleaned,
                              name=f"Pengirim {who.channel.capitalize()}", channel=who.channel).result
            c = s.scalars(select(Complaint).where(Complaint.code == out["code"])).one()
            self.q.plugins["notify"].follow(s, now, who, f"complaint{c.id}")
        base = self.q.cfg.web.public_url.rstrip("/")
        code = format_complaint_code(out["code"])
        link = f" Pantau: {base}/pengaduan/{out['code']}" if base else ""
        log.info("complaint by %s from %s: %s/%s", who.channel, mask(who.address), category, topic)
        where = "lewat SMS" if sms else "ke sini"
        return f"{self.q.cfg.office.name}: laporan diterima, kode {code}.{link} Jawaban dikirim {where}."

    def _public(self, s: "Session", c: Complaint, today: date) -> dict[str, Any]:
        """What anyone holding the tracking code may see: never an internal note, a handler or a contact."""
        main = s.get(Complaint, c.merged_into) if c.merged_into else None
        shown = main or c
        ids = [c.id] + ([main.id] if main else [])
        thread = []
        for m in s.scalars(select(ComplaintMessage).where(ComplaintMessage.complaint_id.in_(ids),
                                                          ComplaintMessage.public == 1).order_by(ComplaintMessage.id)):
            if m.complaint_id != c.id and m.kind == "resident":
                continue   # the other resident's words stay theirs
            thread.append({"kind": m.kind, "at": iso(m.at), "text": m.text,
                           "from": "warga" if m.kind == "resident" else "petugas"})
        return {"code": c.code, "category": c.category, "topic": c.topic, "status": shown.status,
                "reason": shown.reason, "refer_to": shown.refer_to, "created_at": iso(c.created_at),
                "updated_at": iso(max(c.updated_at, shown.updated_at)), "anonymous": bool(c.anonymous),
                "has_photo": c.photo is not None, "merged": main is not None, "rating": c.rating,
                "can_add": shown.status not in (REFUSED, NOT_OURS) and c.anonymised_at is None,
                "can_rate": shown.status == DONE and shown.answered_at is not None,
                "thread": thread, "verify_due": c.verify_due.isoformat(), "answer_due": c.answer_due.isoformat()}

    def status(self, s: "Session", now: datetime, code: str) -> Outcome:
        c = self._by_code(s, code)
        return Outcome(self._public(s, c, self._today(now)), changed=False)

    def add(self, s: "Session", now: datetime, code: str, text: str) -> Outcome:
        c = self._by_code(s, code)
        main = s.get(Complaint, c.merged_into) if c.merged_into else c
        if main.status in (REFUSED, NOT_OURS) or c.anonymised_at is not None:
            raise Conflict("complaint_closed", f"the complaint is {main.status}")
        mine = s.scalar(select(func.count()).select_from(ComplaintMessage).where(
            ComplaintMessage.complaint_id == c.id, ComplaintMessage.kind == "resident")) or 0
        if mine >= MAX_RESIDENT_MESSAGES:
            raise Conflict("too_many_messages", f"at most {MAX_RESIDENT_MESSAGES} messages from the resident")
        self._message(s, c, now, "resident", "warga", clean_text(text, self.conf.max_text), True)
        c.updated_at = now
        log.info("complaint %s: the resident added to it", c.id)
        return Outcome({"code": c.code, "added": True}, events=[self._event(c, now)], changed=False)

    def rate(self, s: "Session", now: datetime, code: str, rating: int) -> Outcome:
        c = self._by_code(s, code)
        main = s.get(Complaint, c.merged_into) if c.merged_into else c
        if main.status != DONE or main.answered_at is None:
            raise Conflict("not_answered", "a complaint is rated once it is answered")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise CommandError("invalid_argument", "'rating' must be 1-5")
        c.rating, c.updated_at = rating, now
        return Outcome({"code": c.code, "rating": rating}, events=[self._event(c, now)], changed=False)

    # ------------------------------------------------------------------ staff

    def _row(self, c: Complaint, today: date) -> dict[str, Any]:
        return {"id": c.id, "code": c.code, "category": c.category, "topic": c.topic, "status": c.status,
                "channel": c.channel, "created_at": iso(c.created_at), "updated_at": iso(c.updated_at),
                "assigned_to": c.assigned_to, "merged_into": c.merged_into, "anonymous": bool(c.anonymous),
                "masked_name": mask_name(c.contact_name) if c.contact_name else None,
                "has_photo": c.photo is not None} | self._flags(c, today)

    def list(self, s: "Session", now: datetime, session: str, status: str | None = None, topic: str | None = None,
             mine: bool = False, address: str | None = None) -> Outcome:
        """The inbox: no texts, no contacts (masked names), open ones by due date; as many as fit in one reply
        (:func:`fit_rows`), ``more``: how many of the chosen ones are not shown."""
        who = self._handler(s, now, session)
        today = self._today(now)
        query = select(Complaint).where(Complaint.merged_into.is_(None))
        if who.role != "kasi" or mine:
            query = query.where(Complaint.assigned_to == who.name)
        base = query
        query = query.where(Complaint.status == status) if status else query.where(Complaint.status.in_(OPEN))
        if topic:
            query = query.where(Complaint.topic == topic)
        rows = list(s.scalars(query.order_by(Complaint.verify_due, Complaint.id).limit(LIST_LIMIT)))
        counts: dict[str, int] = {}
        for st in STATUSES:
            counts[st] = s.scalar(select(func.count()).select_from(
                base.where(Complaint.status == st).subquery())) or 0
        items = fit_rows(self._row(c, today) for c in rows)
        shown = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        opened = list(s.scalars(base.where(Complaint.status.in_(OPEN))))
        overdue = sum(1 for c in opened if self._flags(c, today)["overdue"])
        people = [a.name for a in s.scalars(select(StaffAccount).where(StaffAccount.role.in_(HANDLERS),
                                                                      StaffAccount.disabled == 0)
                                           .order_by(StaffAccount.name))]
        return Outcome({"items": items, "counts": counts, "overdue": overdue, "today": today.isoformat(),
                        "people": people, "more": max(shown - len(items), 0)}, changed=False)

    def get(self, s: "Session", now: datetime, complaint: int, session: str, purpose: str = "view",
            address: str | None = None) -> Outcome:
        """Everything about one complaint, contact and internal notes included; audited
        (``complaint.view``, ``complaint.photo``). Read-only: never written to the request log."""
        c = self._by_id(s, complaint)
        who = self._handler(s, now, session, c)
        audit_by(s, now, who, f"complaint.{purpose}", _subject(c), address)
        today = self._today(now)
        out = self._row(c, today) | {
            "text": c.text, "photo": c.photo, "contact_name": c.contact_name, "contact_phone": c.contact_phone,
            "notify": bool(c.notify), "reason": c.reason, "refer_to": c.refer_to, "rating": c.rating,
            "verified_at": iso(c.verified_at), "answered_at": iso(c.answered_at), "closed_at": iso(c.closed_at),
            "anonymised": c.anonymised_at is not None, "moves": list(TRANSITIONS[c.status])}
        out["thread"] = [{"id": m.id, "kind": m.kind, "author": m.author, "at": iso(m.at), "text": m.text,
                          "public": bool(m.public)}
                         for m in s.scalars(select(ComplaintMessage).where(ComplaintMessage.complaint_id == c.id)
                                            .order_by(ComplaintMessage.id))]
        # One reply must fit the broker's 64 KiB: the newest of a long thread (notes and replies have no count
        # limit, up to 3 000 characters each) and the first duplicates (a flood merged into one, each with
        # its text); ``thread_more`` / ``duplicates_more``: how many are not shown.
        thread = out["thread"]
        out["thread"] = fit_rows(reversed(thread), THREAD_BYTES)[::-1]
        out["thread_more"] = len(thread) - len(out["thread"])
        dups = [{"id": d.id, "code": d.code, "text": d.text, "created_at": iso(d.created_at)}
                for d in s.scalars(select(Complaint).where(Complaint.merged_into == c.id).order_by(Complaint.id))]
        out["duplicates"] = fit_rows(dups, DUPLICATES_BYTES)
        out["duplicates_more"] = len(dups) - len(out["duplicates"])
        return Outcome(out, changed=False)

    def set_status(self, s: "Session", now: datetime, complaint: int, status: str, session: str,
                   reason: str | None = None, refer_to: str | None = None, address: str | None = None) -> Outcome:
        c = self._by_id(s, complaint)
        who = self._handler(s, now, session, c)
        if c.merged_into:
            raise Conflict("complaint_merged", "this complaint follows the one it was merged into")
        if status not in TRANSITIONS[c.status]:
            raise Conflict("invalid_transition", f"a complaint that is {c.status} cannot become {status} "
                                                 f"(it can become: {', '.join(TRANSITIONS[c.status])}); "
                                                 "'selesai' comes with a published answer")
        if status in (REFUSED, NOT_OURS) and not reason:
            raise CommandError("missing_argument", f"'{status}' needs a 'reason' the resident will read")
        if status == NOT_OURS and not refer_to:
            raise CommandError("missing_argument", "'bukan_wewenang' needs 'refer_to': where the resident can go")
        before = c.status
        c.status, c.updated_at = status, now
        c.reason = clean_text(reason, 1000) if reason and status in (REFUSED, NOT_OURS) else None
        c.refer_to = clean_text(refer_to, 500) if refer_to and status == NOT_OURS else None
        if status in (VERIFIED, IN_PROCESS) and c.verified_at is None:
            c.verified_at = now
        c.closed_at = now if status in CLOSED else None
        self._message(s, c, now, "status", who.name, status, True)
        audit_by(s, now, who, "complaint.status", _subject(c), address, {"from": before, "to": status})
        log.info("complaint %s: %s -> %s by %s", c.id, before, status, who.name)
        return Outcome(self._row(c, self._today(now)), events=self._events(s, c, now), changed=False)

    def reply(self, s: "Session", now: datetime, complaint: int, text: str, session: str, final: bool = False,
              address: str | None = None) -> Outcome:
        """A reply the resident reads; ``final``: the answer, which closes the complaint (``selesai``) and sends
        the opted-in residents (this complaint's and its merged duplicates') an SMS."""
        c = self._by_id(s, complaint)
        who = self._handler(s, now, session, c)
        if c.merged_into:
            raise Conflict("complaint_merged", "answer the complaint it was merged into")
        if c.status in (REFUSED, NOT_OURS):
            raise Conflict("complaint_closed", f"the complaint is {c.status}")
        text = clean_text(text, self.conf.max_text)
        self._message(s, c, now, "reply", who.name, text, True)
        c.updated_at = now
        if c.verified_at is None:
            c.verified_at = now
        sent = 0
        if final:
            before = c.status
            c.status, c.closed_at, c.reason, c.refer_to = DONE, now, None, None
            if c.answered_at is None:
                c.answered_at = now
            if before != DONE:
                self._message(s, c, now, "status", who.name, DONE, True)
            sent = self._notify_answered(s, c, now)
        elif c.status == RECEIVED:
            c.status = IN_PROCESS
        audit_by(s, now, who, "complaint.answer" if final else "complaint.reply", _subject(c), address,
                    {"final": bool(final), "sms": sent})
        return Outcome(self._row(c, self._today(now)) | {"sms": sent}, events=self._events(s, c, now),
                       changed=False)

    def _notify_answered(self, s: "Session", c: Complaint, now: datetime) -> int:
        rules = self.q.plugins.get("notify")
        if rules is None:
            return 0
        base = self.q.cfg.web.public_url.rstrip("/") if hasattr(self.q.cfg, "web") else ""
        sent = 0
        group = [c] + list(s.scalars(select(Complaint).where(Complaint.merged_into == c.id)))
        for x in group:
            # An SMS to the opted-in number; and the chats that follow the complaint (filed by chat, or linked
            # with its link code) get it too, by NotifyRules.notify, whether or not a number was given.
            phone = x.contact_phone if x.notify and not x.anonymous else None
            link = f" Lihat: {base}/pengaduan/{x.code}" if base else f" Kode: {format_complaint_code(x.code)}"
            body = f"Laporan Anda ke {self.q.cfg.office.name} sudah dijawab.{link}"
            if rules.notify(s, now, f"complaint{x.id}:answered:{c.answered_at.isoformat()}", "complaint_answered",
                            phone, body) is not None:
                sent += 1
        return sent

    def note(self, s: "Session", now: datetime, complaint: int, text: str, session: str,
             address: str | None = None) -> Outcome:
        """An internal note: staff only, never in what residents see."""
        c = self._by_id(s, complaint)
        who = self._handler(s, now, session, c)
        m = self._message(s, c, now, "note", who.name, clean_text(text, self.conf.max_text), False)
        audit_by(s, now, who, "complaint.note", _subject(c), address)
        return Outcome({"id": c.id, "note": m.id}, changed=False)

    def assign(self, s: "Session", now: datetime, complaint: int, to: str, session: str,
               address: str | None = None) -> Outcome:
        who = authenticate(s, now, session, MANAGERS)
        c = self._by_id(s, complaint)
        person = s.scalars(select(StaffAccount).where(StaffAccount.name == to)).first()
        if person is None or person.disabled or person.role not in HANDLERS:
            raise NotFound("unknown_account", f"no kasi or petugas account '{to}'")
        c.assigned_to, c.updated_at = to, now
        self._message(s, c, now, "assigned", who.name, to, False)
        audit_by(s, now, who, "complaint.assign", _subject(c), address, {"to": to})
        return Outcome(self._row(c, self._today(now)), changed=False)

    def merge(self, s: "Session", now: datetime, complaint: int, into: int, session: str,
              address: str | None = None) -> Outcome:
        """``complaint`` is a duplicate of ``into``: its page follows ``into``'s status and replies (never the
        other resident's words), and its resident gets the answer's SMS too."""
        who = authenticate(s, now, session, MANAGERS)
        c, main = self._by_id(s, complaint), self._by_id(s, into)
        if c.id == main.id or main.merged_into is not None or c.merged_into is not None:
            raise Conflict("invalid_merge", "merge a complaint once, into one that is not itself merged")
        if s.scalar(select(Complaint.id).where(Complaint.merged_into == c.id)) is not None:
            raise Conflict("invalid_merge", "this complaint has duplicates merged into it: merge the other way")
        c.merged_into, c.updated_at = main.id, now
        self._message(s, c, now, "merged", who.name, main.code, False)
        self._message(s, main, now, "merged", who.name, c.code, False)
        audit_by(s, now, who, "complaint.merge", _subject(c), address, {"into": main.id})
        return Outcome(self._row(c, self._today(now)), events=[self._event(c, now)], changed=False)

    def summary(self, s: "Session", now: datetime, month: str, session: str, after: int | None = None,
                address: str | None = None) -> Outcome:
        """A month's complaints (by submission date, office time): counts per category, topic and status,
        the median calendar days to the answer, the share answered within ``answer_days`` and
        verified within ``verify_days``; and the rows for LAPOR! (no contact, no texts), in pages of at most
        :data:`~antre.rules.outcome.LIST_BYTES` (``next``: the ``after`` of the following page, or None)."""
        who = authenticate(s, now, session, MANAGERS)
        m = re.fullmatch(r"(\d{4})-(\d{2})", month)
        if not m or not 1 <= int(m[2]) <= 12:
            raise CommandError("invalid_argument", "'month' must be YYYY-MM")
        first = date(int(m[1]), int(m[2]), 1)
        next_month = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        start, end = self.q.day_start(first), self.q.day_start(next_month)
        rows = list(s.scalars(select(Complaint).where(Complaint.created_at >= start, Complaint.created_at < end)
                              .order_by(Complaint.id)))
        audit_by(s, now, who, "complaint.summary", "", address, {"month": month, "after": after or 0})
        tz = self.q.tz
        per: dict[str, dict[str, int]] = {"category": {}, "topic": {}, "status": {}}
        days, on_time, verified_on_time, answered = [], 0, 0, 0
        export = []
        for c in rows:
            status = "digabung" if c.merged_into else c.status
            for key, value in (("category", c.category), ("topic", c.topic), ("status", status)):
                per[key][value] = per[key].get(value, 0) + 1
            if c.answered_at is not None:
                answered += 1
                days.append((c.answered_at - c.created_at).total_seconds() / 86400)
                if c.answered_at.astimezone(tz).date() <= c.answer_due:
                    on_time += 1
            if c.verified_at is not None and c.verified_at.astimezone(tz).date() <= c.verify_due:
                verified_on_time += 1
            export.append({"code": c.code, "date": c.created_at.astimezone(tz).date().isoformat(),
                           "category": c.category, "topic": c.topic, "status": status, "channel": c.channel,
                           "anonymous": bool(c.anonymous),
                           "answered_on": c.answered_at.astimezone(tz).date().isoformat() if c.answered_at else "",
                           "rating": c.rating or ""})
        total = len(rows)
        ids = [c.id for c in rows if c.id > (after or 0)]
        export = fit_rows(e for c, e in zip(rows, export) if c.id > (after or 0))
        following = ids[len(export) - 1] if 0 < len(export) < len(ids) else None
        return Outcome({"month": month, "total": total, "per": per, "answered": answered,
                        "median_days": round(statistics.median(days), 1) if days else None,
                        "answered_on_time": on_time, "verified_on_time": verified_on_time,
                        "share_on_time": round(on_time / answered, 3) if answered else None,
                        "rows": export, "next": following}, changed=False)

    # ------------------------------------------------------------------ retention

    def purge(self, s: "Session", now: datetime) -> int:
        """Wipes contact and texts of complaints closed more than ``retention_days`` ago (a new-day hook)."""
        cutoff = now - timedelta(days=self.conf.retention_days)
        ids = [i for (i,) in s.execute(select(Complaint.id).where(Complaint.closed_at < cutoff,
                                                                 Complaint.anonymised_at.is_(None)))]
        if not ids:
            return 0
        photos = {p for (p,) in s.execute(select(Complaint.photo).where(Complaint.id.in_(ids),
                                                                        Complaint.photo.is_not(None)))}
        s.execute(update(Complaint).where(Complaint.id.in_(ids)).values(
            contact_name=None, contact_phone=None, text=None, photo=None, anonymised_at=now))
        s.execute(update(ComplaintMessage).where(ComplaintMessage.complaint_id.in_(ids),
                                                 ComplaintMessage.kind == "resident").values(text=None))
        # A photo still named by another complaint (the same picture sent twice) stays.
        still = {p for (p,) in s.execute(select(Complaint.photo).where(Complaint.photo.in_(photos)))} if photos else set()
        folder = photo_folder(self.q.cfg)
        removed = 0
        for name in sorted(photos - still):
            if PHOTO_NAME.fullmatch(name):
                try:
                    (folder / name).unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("retention: complaint photo %s not deleted: %s", name, exc)
        audit(s, "system", "complaint.purge", "", "service", {"complaints": len(ids), "photos": removed}, now=now)
        return len(ids)


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    rules = ComplaintRules(q)
    q.new_day_hooks.append(rules.purge)
    q.read_only.update({"complaint_status", "complaint_list", "complaint_get", "complaint_summary"})
    q.plugins["complaints"] = rules
    return rules.handlers()


__all__ = ["handlers", "ComplaintRules", "CATEGORIES", "STATUSES", "TRANSITIONS", "complaint_code_ok",
           "new_complaint_code", "clean_complaint_code", "format_complaint_code", "complaint_ref", "PHOTO_NAME"]
