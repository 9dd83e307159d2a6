"""Notifications: the outbox, opt-in subscriptions and SMS opt-outs (antre/rules/notify.py).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from antre.storage.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("phone_key", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(120), nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("handle", sa.String(120), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("handed_off_at", UTCDateTime, nullable=True),
        sa.Column("done_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_day", "outbox", ["business_date", "phone_key"])
    op.create_table(
        "notify_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=True, unique=True),
        sa.Column("booking_id", sa.Integer, sa.ForeignKey("bookings.id"), nullable=True, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("near_done", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_subscription_day", "notify_subscriptions", ["business_date"])
    op.create_table(
        "sms_optouts",
        sa.Column("phone_key", sa.String(16), primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sms_optouts")
    op.drop_table("notify_subscriptions")
    op.drop_table("outbox")
