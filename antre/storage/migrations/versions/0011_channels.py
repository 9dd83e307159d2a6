"""Internet channels of the outbox (Telegram, WhatsApp): delivery reports, chats following an item, and when
an address last wrote (WhatsApp's 24-hour window). antre/rules/notify.py, docs/channels.md.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

from antre.storage.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as b:
        b.add_column(sa.Column("delivery", sa.String(16), nullable=True))
        b.add_column(sa.Column("delivery_at", UTCDateTime, nullable=True))
    op.create_table(
        "chat_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(20), nullable=False),
        sa.Column("item", sa.String(24), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("channel", "address", "item", name="uq_chat_link"),
    )
    op.create_index("ix_chat_link_item", "chat_links", ["item"])
    op.create_index("ix_chat_link_day", "chat_links", ["business_date"])
    op.create_table(
        "chat_contacts",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("address", sa.String(20), primary_key=True),
        sa.Column("last_inbound_at", UTCDateTime, nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_contacts")
    op.drop_table("chat_links")
    with op.batch_alter_table("outbox") as b:
        b.drop_column("delivery_at")
        b.drop_column("delivery")
