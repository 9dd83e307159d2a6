"""The FAQ in the database (edited in the console) and the staff inbox of residents' unanswered questions.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

from antre.storage.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("questions", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("links", sa.Text, nullable=False),
        sa.Column("active", sa.Integer, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "resident_questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("address_key", sa.String(16), nullable=False),
        sa.Column("notify", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", UTCDateTime, nullable=True),
        sa.Column("reply_state", sa.String(24), nullable=True),
        sa.Column("source_key", sa.String(80), nullable=True, unique=True),
        sa.Column("faq_id", sa.Integer, nullable=True),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_resident_questions_state", "resident_questions", ["state", "id"])
    op.create_index("ix_resident_questions_day", "resident_questions", ["business_date", "address_key"])


def downgrade() -> None:
    op.drop_table("resident_questions")
    op.drop_table("faq_entries")
