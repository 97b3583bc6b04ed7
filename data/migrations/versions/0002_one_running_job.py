"""at most one running job of a kind

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    # jobs left running by a stopped process would violate the index: close them first
    op.execute("UPDATE jobs SET status = 'failed' WHERE status = 'running'")
    op.create_index(
        "ix_jobs_one_running",
        "jobs",
        ["kind"],
        unique=True,
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_one_running", table_name="jobs")
