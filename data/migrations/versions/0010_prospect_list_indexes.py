"""prospect list: one index per sort (site, sort value, id)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 04:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_prospects_site_score_id": ("site_id", "score", "id"),
    "ix_prospects_site_drive_id": ("site_id", sa.text("coalesce(drive_minutes, 1000000.0)"), "id"),
    "ix_prospects_site_drive_desc_id": ("site_id", sa.text("coalesce(drive_minutes, -1.0)"), "id"),
    "ix_prospects_site_distance_id": ("site_id", "distance_km", "id"),
}


def upgrade() -> None:
    op.drop_index("ix_prospects_site_score", table_name="prospects")
    for name, columns in INDEXES.items():
        op.create_index(name, "prospects", list(columns))


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="prospects")
    op.create_index("ix_prospects_site_score", "prospects", ["site_id", "score"])
