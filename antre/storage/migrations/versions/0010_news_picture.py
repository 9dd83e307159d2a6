"""Village information: an optional picture per news item (the website writes it; devices get it over MQTT).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("news") as batch:
        batch.add_column(sa.Column("picture", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("news") as batch:
        batch.drop_column("picture")
