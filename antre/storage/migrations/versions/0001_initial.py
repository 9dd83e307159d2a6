"""Initial schema: tickets, their events, counters, ratings, the request log.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from antre.storage.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("prefix", sa.String(1), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("service_code", sa.String(32), nullable=False),
        sa.Column("issued_service_code", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("priority_kind", sa.String(16), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("counter_id", sa.String(32), nullable=True),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("first_called_at", UTCDateTime, nullable=True),
        sa.Column("called_at", UTCDateTime, nullable=True),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.Column("call_count", sa.Integer, nullable=False),
        sa.Column("transfer_count", sa.Integer, nullable=False),
        sa.UniqueConstraint("business_date", "prefix", "seq", name="uq_ticket_day_number"),
    )
    op.create_index("ix_ticket_queue", "tickets",
                    ["business_date", "state", "service_code", "priority", "issued_at"])
    op.create_index("ix_ticket_counter", "tickets", ["counter_id", "state"])
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("counter_id", sa.String(32), nullable=True),
        sa.Column("service_code", sa.String(32), nullable=False),
    )
    op.create_index("ix_event_ticket", "ticket_events", ["ticket_id"])
    op.create_index("ix_event_at", "ticket_events", ["at"])
    op.create_table(
        "counter_states",
        sa.Column("counter_id", sa.String(32), primary_key=True),
        sa.Column("paused", sa.Integer, nullable=False),
        sa.Column("current_ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, unique=True),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("service_code", sa.String(32), nullable=False),
        sa.Column("counter_id", sa.String(32), nullable=True),
        sa.Column("score", sa.Integer, nullable=False),
        *[sa.Column(f"u{i}", sa.Integer, nullable=True) for i in range(1, 10)],
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_rating_date", "ratings", ["business_date"])
    op.create_table(
        "requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_request_at", "requests", ["created_at"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("meta", "requests", "ratings", "counter_states", "ticket_events", "tickets"):
        op.drop_table(name)
