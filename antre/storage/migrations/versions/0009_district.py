"""District outbox: what the district hub gets, numbered per office without gaps (docs/district.md).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

from antre.storage.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "district_outbox",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_district_outbox_at", "district_outbox", ["at"])


def downgrade() -> None:
    op.drop_table("district_outbox")
