"""resumable pipeline runs: pipeline_runs, pipeline_chunks; jobs.eta_seconds

``pipeline_runs``: one per ``prm pipeline`` run (scope, input fingerprint,
status, lease as on jobs); ``pipeline_chunks``: the chunks (and whole stages)
a run stored, written in the transaction that stored them, so a killed run
resumes from its last completed chunk. ``jobs.eta_seconds``: the time left in
a job's stage, for other API workers to read.

Revision ID: 0017
Revises: 0016
Create Date: 2027-01-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("scope", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.String(200), nullable=False),
        sa.Column("detail", sa.JSON),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("owner_host", sa.String(255)),
        sa.Column("owner_pid", sa.Integer),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ix_pipeline_runs_one_running",
        "pipeline_runs",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "pipeline_chunks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("chunk", sa.String(200), nullable=False),
        sa.Column(
            "done_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("run_id", "stage", "chunk", name=op.f("uq_pipeline_chunks_run_id")),
    )
    op.add_column("jobs", sa.Column("eta_seconds", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("eta_seconds")
    op.drop_table("pipeline_chunks")
    op.drop_index("ix_pipeline_runs_one_running", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
