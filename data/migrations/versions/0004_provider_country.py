"""provider country (US and French registries side by side)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 03:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers") as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("providers") as batch_op:
        batch_op.drop_column("country")
