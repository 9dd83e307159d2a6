"""Letters (e-administrasi): requests, the outgoing-letter register, status history.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from antre.storage.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "letter_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("verify_token", sa.String(32), nullable=False, unique=True),
        sa.Column("type_code", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("holder_name", sa.String(80), nullable=True),
        sa.Column("nik", sa.String(16), nullable=True),
        sa.Column("fields_json", sa.Text, nullable=True),
        sa.Column("masked_name", sa.String(80), nullable=False),
        sa.Column("number", sa.String(80), nullable=True, unique=True),
        sa.Column("signer_id", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("numbered_at", UTCDateTime, nullable=True),
        sa.Column("signed_at", UTCDateTime, nullable=True),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("valid_until", sa.Date, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("anonymised_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_letter_status", "letter_requests", ["status", "created_at"])
    op.create_table(
        "letter_numbers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sequence_key", sa.String(40), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("number", sa.String(80), nullable=False, unique=True),
        sa.Column("classification", sa.String(20), nullable=False),
        sa.Column("type_code", sa.String(32), nullable=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("masked_name", sa.String(80), nullable=False),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("letter_requests.id"), nullable=True),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("sequence_key", "year", "seq", name="uq_letter_sequence"),
    )
    op.create_table(
        "letter_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("letter_requests.id"), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
    )
    op.create_index("ix_letter_history_request", "letter_history", ["request_id"])


def downgrade() -> None:
    op.drop_table("letter_history")
    op.drop_table("letter_numbers")
    op.drop_table("letter_requests")
