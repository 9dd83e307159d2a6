"""Complaints (pengaduan, aspirasi, permintaan informasi) and their threads.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

from antre.storage.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("refer_to", sa.Text, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("photo", sa.String(80), nullable=True),
        sa.Column("anonymous", sa.Integer, nullable=False),
        sa.Column("contact_name", sa.String(80), nullable=True),
        sa.Column("contact_phone", sa.String(20), nullable=True),
        sa.Column("notify", sa.Integer, nullable=False),
        sa.Column("assigned_to", sa.String(32), nullable=True),
        sa.Column("merged_into", sa.Integer, sa.ForeignKey("complaints.id"), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("verify_due", sa.Date, nullable=False),
        sa.Column("answer_due", sa.Date, nullable=False),
        sa.Column("verified_at", UTCDateTime, nullable=True),
        sa.Column("answered_at", UTCDateTime, nullable=True),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("anonymised_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_complaint_status", "complaints", ["status", "created_at"])
    op.create_table(
        "complaint_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("complaint_id", sa.Integer, sa.ForeignKey("complaints.id"), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("public", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=True),
    )
    op.create_index("ix_complaint_message", "complaint_messages", ["complaint_id", "id"])


def downgrade() -> None:
    op.drop_table("complaint_messages")
    op.drop_table("complaints")
