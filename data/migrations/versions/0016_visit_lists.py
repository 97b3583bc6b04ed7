"""liaisons' visit days

``visit_lists``: one per owner and day (start, end, time zone, day start and
end in minutes since midnight); ``visit_stops``: the providers to visit that
day, each with its visit length and optional window.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-20 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _place(prefix: str) -> list[sa.Column]:
    return [
        sa.Column(f"{prefix}_kind", sa.String(10)),
        sa.Column(f"{prefix}_label", sa.String(300)),
        sa.Column(f"{prefix}_lat", sa.Float),
        sa.Column(f"{prefix}_lon", sa.Float),
    ]


def upgrade() -> None:
    op.create_table(
        "visit_lists",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(100), nullable=False, index=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("day_start_min", sa.Integer, nullable=False),
        sa.Column("day_end_min", sa.Integer),
        *_place("start"),
        *_place("end"),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("owner", "day", name=op.f("uq_visit_lists_owner")),
    )
    op.create_table(
        "visit_stops",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "list_id",
            sa.Integer,
            sa.ForeignKey("visit_lists.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "provider_id", sa.Integer, sa.ForeignKey("providers.id"), nullable=False, index=True
        ),
        sa.Column("duration_min", sa.Integer, nullable=False),
        sa.Column("window_start_min", sa.Integer),
        sa.Column("window_end_min", sa.Integer),
        sa.Column(
            "added_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("list_id", "provider_id", name=op.f("uq_visit_stops_list_id")),
    )


def downgrade() -> None:
    op.drop_table("visit_stops")
    op.drop_table("visit_lists")
