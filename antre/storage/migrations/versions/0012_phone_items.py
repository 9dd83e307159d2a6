"""'Semua urusan saya': one-time SMS codes and short sessions of a confirmed phone number (hashes only).

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

from antre.storage.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_codes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("phone_key", sa.String(16), nullable=False),
        sa.Column("address_key", sa.String(16), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_phone_code_phone", "phone_codes", ["phone_key", "created_at"])
    op.create_index("ix_phone_code_address", "phone_codes", ["address_key", "created_at"])
    op.create_table(
        "phone_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("phone_key", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("phone_sessions")
    op.drop_table("phone_codes")
