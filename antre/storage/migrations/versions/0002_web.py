"""Web: bookings (janji temu) and the contacts of remote tickets.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from antre.storage.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(12), nullable=False, unique=True),
        sa.Column("service_code", sa.String(32), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("slot", sa.String(5), nullable=False),
        sa.Column("slot_at", UTCDateTime, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("name", sa.String(80), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("checked_in_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_booking_slot", "bookings", ["business_date", "service_code", "slot"])
    op.create_index("ix_booking_phone", "bookings", ["business_date", "phone"])
    op.create_table(
        "remote_contacts",
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), primary_key=True),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_remote_phone", "remote_contacts", ["business_date", "phone"])


def downgrade() -> None:
    op.drop_table("remote_contacts")
    op.drop_table("bookings")
