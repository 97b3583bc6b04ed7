"""prospects.in_catchment: whether the provider lies in one of the site's catchments

The score stage now scores every provider within ``prospect_reach_minutes`` of
drive from a site, not only those in its catchments; a prospect row says
whether it is in one of them, and the prospect list filters on it. Rows stored
before were all in a catchment (the catchments were who was scored), so they
get true; the next score run writes the column on every row it stores.

The four list indexes (migration 0011) carry the filtered columns so a filter
rejects an index entry without a table lookup: they are rebuilt with the new
column among them.

Revision ID: 0019
Revises: 0018
Create Date: 2027-01-12 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_DRIVE_ASC = sa.text("coalesce(drive_minutes, 1000000.0)")
_DRIVE_DESC = sa.text("coalesce(drive_minutes, -1.0)")


def _indexes(filters: tuple[str, ...]) -> dict[str, tuple]:
    """The list indexes of migration 0011, carrying ``filters``."""
    return {
        "ix_prospects_list_score": (
            "site_id",
            sa.text("score DESC"),
            "id",
            *filters,
            "drive_minutes",
            "distance_km",
        ),
        "ix_prospects_list_drive": (
            "site_id",
            _DRIVE_ASC,
            "id",
            *filters,
            "score",
            "drive_minutes",
            "distance_km",
        ),
        "ix_prospects_list_drive_desc": (
            "site_id",
            _DRIVE_DESC,
            "id",
            *filters,
            "score",
            "drive_minutes",
            "distance_km",
        ),
        "ix_prospects_list_distance": (
            "site_id",
            "distance_km",
            "id",
            *filters,
            "score",
            "drive_minutes",
        ),
    }


OLD = _indexes(("segment", "classification", "taxonomy_code"))
NEW = _indexes(("segment", "classification", "taxonomy_code", "in_catchment"))


def upgrade() -> None:
    op.add_column(
        "prospects",
        sa.Column("in_catchment", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    for name in OLD:
        op.drop_index(name, table_name="prospects")
    for name, key in NEW.items():
        op.create_index(name, "prospects", list(key))


def downgrade() -> None:
    for name in NEW:
        op.drop_index(name, table_name="prospects")
    with op.batch_alter_table("prospects") as batch:
        batch.drop_column("in_catchment")
    for name, key in OLD.items():
        op.create_index(name, "prospects", list(key))
