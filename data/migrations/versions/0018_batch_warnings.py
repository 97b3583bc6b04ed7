"""load_batches.warnings: what a load accepted but reports (e.g. columns no field takes)

A list of warnings (code, message, file, columns) per batch, stored when the
batch ends (committed or failed), returned by the batch report and by
``prm batches list --json``. Batches stored before have none (NULL).

Revision ID: 0018
Revises: 0017
Create Date: 2027-01-12 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("load_batches", sa.Column("warnings", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("load_batches") as batch:
        batch.drop_column("warnings")
