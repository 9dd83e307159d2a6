"""Database models (SQLAlchemy 2.x typed ORM).

The schema itself is created and upgraded by Alembic (``antre/storage/migrations``);
these classes must match the newest revision -- ``tests/test_storage.py``
checks that they do.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    Date, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC; always returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


# Ticket states. `transferred` is recorded as an event: a transferred ticket is
# waiting again in its new service, keeping its number and issue time.
WAITING, CALLED, DONE, NO_SHOW, EXPIRED = "waiting", "called", "done", "no_show", "expired"
STATES = (WAITING, CALLED, DONE, NO_SHOW, EXPIRED)
OPEN_STATES = (WAITING, CALLED)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("business_date", "prefix", "seq", name="uq_ticket_day_number"),
        # The hot path: the oldest waiting ticket of today for a set of services.
        Index("ix_ticket_queue", "business_date", "state", "service_code", "priority", "issued_at"),
        Index("ix_ticket_counter", "counter_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_date: Mapped[date] = mapped_column(Date)
    prefix: Mapped[str] = mapped_column(String(1))
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(16))
    service_code: Mapped[str] = mapped_column(String(32))
    issued_service_code: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    priority_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    channel: Mapped[str] = mapped_column(String(16), default="kiosk")
    state: Mapped[str] = mapped_column(String(16), default=WAITING)
    counter_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)

    events: Mapped[list["TicketEvent"]] = relationship(back_populates="ticket", order_by="TicketEvent.id")


class TicketEvent(Base):
    """One timestamped transition of a ticket: its history, for reports and audits."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_event_ticket", "ticket_id"), Index("ix_event_at", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))  # issued, called, recalled, completed, skipped, transferred, expired
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    counter_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    service_code: Mapped[str] = mapped_column(String(32))

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class CounterState(Base):
    __tablename__ = "counter_states"

    counter_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    paused: Mapped[int] = mapped_column(Integer, default=0)
    current_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (Index("ix_rating_date", "business_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    business_date: Mapped[date] = mapped_column(Date)
    service_code: Mapped[str] = mapped_column(String(32))
    counter_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    score: Mapped[int] = mapped_column(Integer)
    # The nine IKM elements of PermenPANRB 14/2017 (U1..U9), each 1-4; all or none.
    u1: Mapped[int | None] = mapped_column(Integer, nullable=True)
    u2: Mapped[int | None] = mapped_column(Integer, nullable=True)
    u3: Mapped[int | None] = mapped_column(Integer, nullable=True)
    u4: Mapped[int | None] = mapped_column(Integer, nullable=True)
    u5: Mapped[int | None] = mapped_column(Integer, nullable=True)
    u6: Mapped[int | None] = mapped_column(Integer, nullable=True)
    u7: Mapped[int | None] = mapped_column(Integer, nullable=True)
    u8: Mapped[int | None] = mapped_column(Integer, nullable=True)
    u9: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def elements(self) -> list[int] | None:
        values = [self.u1, self.u2, self.u3, self.u4, self.u5, self.u6, self.u7, self.u8, self.u9]
        return None if values[0] is None else values  # type: ignore[return-value]


class RequestLog(Base):
    """Replies to applied commands, keyed by request_id: makes every command idempotent."""

    __tablename__ = "requests"
    __table_args__ = (Index("ix_request_at", "created_at"),)

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    command: Mapped[str] = mapped_column(String(32))
    reply: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Meta(Base):
    """Small key/value facts the service keeps, such as the last business day it opened."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# Bookings and remote tickets (antre web). Names and phone numbers are personal data: they are kept only
# for [web] retention_days after their day (see antre/rules/appointments.py) and never logged.
BOOKED, CHECKED_IN, CANCELLED, BOOKING_EXPIRED = "booked", "checked_in", "cancelled", "expired"


class Booking(Base):
    """An appointment (janji temu): a time slot of a service on a day, checked in with its code."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_booking_slot", "business_date", "service_code", "slot"),
        Index("ix_booking_phone", "business_date", "phone"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    service_code: Mapped[str] = mapped_column(String(32))
    business_date: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(5))          # "HH:MM", office time
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default=BOOKED)
    name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RemoteContact(Base):
    """Who took a ticket from home: for the per-phone daily limit and for staff to call back. Short-lived."""

    __tablename__ = "remote_contacts"
    __table_args__ = (Index("ix_remote_phone", "business_date", "phone"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# Letters (e-administrasi, antre/rules/letters.py; statuses in antre/rules/letter_codes.py).


class LetterRequest(Base):
    """A resident's request for a letter. Personal data (``holder_name``, ``nik``, ``fields_json``) is wiped
    ``[letters] retention_days`` after the request is closed; ``masked_name`` and the number stay."""

    __tablename__ = "letter_requests"
    __table_args__ = (Index("ix_letter_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)          # tracking code (the resident's)
    verify_token: Mapped[str] = mapped_column(String(32), unique=True)  # in the letter's QR code
    type_code: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)    # why (shown to the resident)
    holder_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    nik: Mapped[str | None] = mapped_column(String(16), nullable=True)
    fields_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    sms_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)   # opt-in: SMS news of the request
    masked_name: Mapped[str] = mapped_column(String(80))
    number: Mapped[str | None] = mapped_column(String(80), nullable=True, unique=True)
    signer_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_on: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    numbered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LetterNumber(Base):
    """The outgoing-letter register (buku agenda surat keluar): every number given, by request or by hand.

    One row per number; ``(sequence_key, year, seq)`` is unique and a sequence only ever grows by one, so a
    year's numbers have no gaps and no duplicates. Nothing is ever deleted (a cancelled letter keeps its row)."""

    __tablename__ = "letter_numbers"
    __table_args__ = (UniqueConstraint("sequence_key", "year", "seq", name="uq_letter_sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sequence_key: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(80), unique=True)
    classification: Mapped[str] = mapped_column(String(20))
    type_code: Mapped[str | None] = mapped_column(String(32), nullable=True)   # None: typed by hand
    subject: Mapped[str] = mapped_column(String(200))                         # perihal
    masked_name: Mapped[str] = mapped_column(String(80))                      # tujuan / holder, masked
    request_id: Mapped[int | None] = mapped_column(ForeignKey("letter_requests.id"), nullable=True)
    issued_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LetterHistory(Base):
    """Each status change of a letter request, with who and why: its timeline and processing times."""

    __tablename__ = "letter_history"
    __table_args__ = (Index("ix_letter_history_request", "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("letter_requests.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))


# Messages to residents (antre/rules/notify.py): one durable outbox, delivered by channel adapters
# (antre/service/notify_worker.py). Phone numbers are personal data: wiped [notify] retention_days after their
# day, never logged, never in MQTT.
PENDING, HANDED_OFF, SENT, FAILED, SKIPPED = "pending", "handed_off", "sent", "failed", "skipped"
OUTBOX_STATES = (PENDING, HANDED_OFF, SENT, FAILED, SKIPPED)


class OutboxMessage(Base):
    """One message to one resident, written in the transaction of the event that causes it.

    ``key`` names the event (``t42:near``, ``b7:day``, ``in:3f2a...``): unique, so an event never makes two
    messages. ``attempt`` counts hand-offs to the channel; ``handle`` is the channel's name for the current one
    (for gammu-smsd, the outbox file name), derived from the row alone so a hand-off can be found again after a
    crash instead of being made twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_day", "business_date", "phone_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(24))           # created, near, called, no_show, reminder_day, ...
    channel: Mapped[str] = mapped_column(String(16))        # sms, telegram, whatsapp
    # The address on that channel: a phone number (sms), a chat id (telegram), a WhatsApp id (whatsapp,
    # international digits). Wiped after retention.
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    phone_key: Mapped[str] = mapped_column(String(16))       # keyed hash of channel+address: budgets, opt-out
    body: Mapped[str] = mapped_column(Text)
    parts: Mapped[int] = mapped_column(Integer, default=1)   # SMS parts: what it costs
    business_date: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    reason: Mapped[str | None] = mapped_column(String(120), nullable=True)   # why skipped or failed
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handle: Mapped[str | None] = mapped_column(String(120), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What the channel later reported about it (delivery reports): delivered, read, failed; None: nothing yet.
    delivery: Mapped[str | None] = mapped_column(String(16), nullable=True)
    delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ChatLink(Base):
    """A chat (Telegram) or WhatsApp number that asked to follow one item: ``item`` is the prefix of the
    item's outbox keys (``t42`` a ticket, ``b7`` a booking, ``letter3``, ``complaint5``). Linked with the
    item's link code (antre/rules/notify.py), so nobody follows someone else's item by guessing."""

    __tablename__ = "chat_links"
    __table_args__ = (UniqueConstraint("channel", "address", "item", name="uq_chat_link"),
                      Index("ix_chat_link_item", "item"), Index("ix_chat_link_day", "business_date"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(20))
    item: Mapped[str] = mapped_column(String(24))
    business_date: Mapped[date] = mapped_column(Date)        # wiped retention_days after it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatContact(Base):
    """When an address last wrote to the office on an internet channel: WhatsApp allows free-form text only
    within 24 hours of it (the customer-service window); after that only an approved template."""

    __tablename__ = "chat_contacts"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_inbound_at: Mapped[datetime] = mapped_column(UTCDateTime)
    business_date: Mapped[date] = mapped_column(Date)


class NotifySubscription(Base):
    """A resident who asked (opt-in) for messages about one ticket or one booking."""

    __tablename__ = "notify_subscriptions"
    __table_args__ = (Index("ix_subscription_day", "business_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True, unique=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), nullable=True, unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(20))
    business_date: Mapped[date] = mapped_column(Date)
    near_done: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SmsOptOut(Base):
    """A number that sent STOP: no notifications any more. Kept as a keyed hash, not the number."""

    __tablename__ = "sms_optouts"

    phone_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

# Staff accounts, their sessions and the audit log (the staff console: antre/rules/staff.py).
# Written only by the service (and `antre staff`, the operator's tool on the server), in the same
# transaction as the change they record.
STAFF_ROLES = ("petugas", "kasi", "penandatangan", "admin")


class StaffAccount(Base):
    """One person: a name to sign in with, a role, an argon2 password hash, the counters they may operate."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)          # the login name, lower case
    full_name: Mapped[str] = mapped_column(String(80), default="")
    role: Mapped[str] = mapped_column(String(16))                     # one of STAFF_ROLES
    counters: Mapped[str] = mapped_column(Text, default="")           # counter ids, comma-separated
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)    # since the last good one
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffSession(Base):
    """A signed-in browser. The browser holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_session_account", "account_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    address: Mapped[str] = mapped_column(String(64), default="")      # where the browser signed in from


class AuditEntry(Base):
    """One staff action that changed something or showed personal data. Append-only: nothing in Antre
    updates a row; rows older than ``[staff] audit_retention_days`` are deleted at a new business day."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"), Index("ix_audit_actor", "actor"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))      # an account name, "cli:USER", "setup" or "system"
    action: Mapped[str] = mapped_column(String(48))     # e.g. "staff.login", "counter.call_next", "letter.view"
    subject: Mapped[str] = mapped_column(String(120), default="")   # what it was done to: "loket-1", "budi"
    device: Mapped[str] = mapped_column(String(120), default="")    # which device/browser: "web:192.168.1.20"
    detail: Mapped[str] = mapped_column(Text, default="")           # JSON or a short text; never a password


class Complaint(Base):
    """A resident's complaint, suggestion or request for information (antre/rules/complaints.py).

    Personal data: ``contact_name``, ``contact_phone`` (never stored when ``anonymous``), ``text`` and the
    resident's messages; wiped ``[complaints] retention_days`` after the complaint is closed."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaint_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)          # tracking code (the resident's)
    category: Mapped[str] = mapped_column(String(16))                   # pengaduan, aspirasi, informasi
    topic: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)     # why refused (the resident reads it)
    refer_to: Mapped[str | None] = mapped_column(Text, nullable=True)   # where to go instead
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    photo: Mapped[str | None] = mapped_column(String(80), nullable=True)   # file name in [complaints] photo_dir
    anonymous: Mapped[int] = mapped_column(Integer)
    contact_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    notify: Mapped[int] = mapped_column(Integer)
    assigned_to: Mapped[str | None] = mapped_column(String(32), nullable=True)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verify_due: Mapped[date] = mapped_column(Date)
    answer_due: Mapped[date] = mapped_column(Date)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ComplaintMessage(Base):
    """One entry of a complaint's thread: the resident's words, a staff reply (public), an internal note
    (``public`` 0: never shown to residents) or a status change."""

    __tablename__ = "complaint_messages"
    __table_args__ = (Index("ix_complaint_message", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))     # resident, reply, note, status, merged
    author: Mapped[str] = mapped_column(String(64))   # an account name, or "warga"
    public: Mapped[int] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)


class NewsItem(Base):
    """An announcement (pengumuman) or a news item (berita) of the village, written by the kasi in the console
    (antre/rules/news.py). Public once published; no personal data."""

    __tablename__ = "news"
    __table_args__ = (Index("ix_news_publish", "publish_on", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))          # pengumuman, berita
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)                # plain text with limited markup (web/news.py)
    publish_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    ticker: Mapped[int] = mapped_column(Integer)           # the title may run on the TV
    author: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    picture: Mapped[str | None] = mapped_column(String(80), nullable=True)   # <sha256>.jpg in [news] picture_dir


class DistrictEvent(Base):
    """The district outbox: what the district's hub gets from this office, append-only, numbered without gaps.

    ``seq`` is given in the transaction of the event (the greatest plus one; the service is the one writer),
    so the office's sequence 1, 2, 3 ... has no holes and the hub can tell a missing one. ``data`` is JSON of
    counts and ticket numbers only: never a name, a phone number, a NIK or a comment (antre/rules/district.py).
    Nothing ever updates or deletes a row.
    """

    __tablename__ = "district_outbox"
    __table_args__ = (Index("ix_district_outbox_at", "at"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    business_date: Mapped[date] = mapped_column(Date)
    data: Mapped[str] = mapped_column(Text)


# "Semua urusan saya": a resident confirms a phone number with a code sent by SMS (antre/rules/my_items.py).
# Neither table holds the number: only its keyed hash (the outbox's ``phone_key``).


class PhoneCode(Base):
    """A one-time code sent by SMS to confirm a phone number: its HMAC, never the code or the number."""

    __tablename__ = "phone_codes"
    __table_args__ = (Index("ix_phone_code_phone", "phone_key", "created_at"),
                      Index("ix_phone_code_address", "address_key", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone_key: Mapped[str] = mapped_column(String(16))
    address_key: Mapped[str] = mapped_column(String(16))     # the browser's address, hashed alike
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)   # confirmed, or burnt


class PhoneSession(Base):
    """A confirmed number's short session: the SHA-256 of the browser's token and the number's keyed hash."""

    __tablename__ = "phone_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone_key: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FaqItem(Base):
    """One answer of the office's FAQ, edited by the kasi or an admin in the console (antre/rules/questions.py).

    ``questions`` and ``links`` are JSON lists of texts. Seeded once from ``[[notify.faq]]`` (``origin``
    ``config``); no personal data."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    questions: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    links: Mapped[str] = mapped_column(Text)
    active: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(16))          # config, console, question
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(64))


class ResidentQuestion(Base):
    """A resident's question the FAQ assistant could not answer with confidence: the staff inbox.

    ``address`` is where the answer goes on ``channel`` (a phone number for sms, a chat id for telegram or
    whatsapp; for the website or kiosk a phone only when the resident gave one and opted in); ``address_key``
    its keyed hash (flood limits). ``code`` lets the resident read the answer on the website. ``source_key``
    names the message it came from (``sms:<hash>``): unique, so a message read twice is stored once. The row
    (text, address, answer) is deleted ``[notify] question_retention_days`` after it was asked."""

    __tablename__ = "resident_questions"
    __table_args__ = (Index("ix_resident_questions_state", "state", "id"),
                      Index("ix_resident_questions_day", "business_date", "address_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address_key: Mapped[str] = mapped_column(String(16))
    notify: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))            # open, answered, dismissed
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reply_state: Mapped[str | None] = mapped_column(String(24), nullable=True)   # queued, not_sent, none
    source_key: Mapped[str | None] = mapped_column(String(80), nullable=True, unique=True)
    faq_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    business_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
