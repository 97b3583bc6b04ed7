"""leases of running load batches and jobs: owner host, owner pid, lease expiry

A load or job killed outright (SIGKILL, a power cut, an OOM kill) never
records its end and stayed ``running`` for ever. Each running row now names
its owner and holds a lease its owner renews; a starting command marks the
rows whose lease expired (and whose owner, on the same host, is gone)
``interrupted`` (:mod:`service.leases`).

Rows left running before this revision have no owner to ask: their lease is
set to their start, expired, so the next start marks them interrupted.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("load_batches", "jobs")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("owner_host", sa.String(255), nullable=True))
        op.add_column(table, sa.Column("owner_pid", sa.Integer(), nullable=True))
        op.add_column(
            table, sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        rows = sa.table(
            table,
            sa.column("status", sa.String),
            sa.column("started_at", sa.DateTime),
            sa.column("lease_expires_at", sa.DateTime),
        )
        op.execute(
            rows.update()
            .where(rows.c.status == "running")
            .values(lease_expires_at=rows.c.started_at)
        )


def downgrade() -> None:
    for table in TABLES:
        # the older code knows no 'interrupted': what it calls an unfinished load or job is failed
        rows = sa.table(table, sa.column("status", sa.String))
        op.execute(rows.update().where(rows.c.status == "interrupted").values(status="failed"))
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lease_expires_at")
            batch.drop_column("owner_pid")
            batch.drop_column("owner_host")
