"""prospect list: sort indexes that also carry the filter columns

A page of the prospect list walks one (site, sort value, id) index until it
has found its rows. With only those columns in the index, every entry walked
costs a table lookup to test the filters (segment, specialty, score, drive
time), and a selective filter combination walks thousands of entries: 100 ms
at a million prospects. Carrying the filtered columns in the index lets
SQLite (deferred seek) and PostgreSQL (index conditions on later columns)
reject an entry without touching the table. The score index is descending:
the default sort is best score first, then id ascending.

Also indexes the two columns whose max() every answer's data stamp reads
(``prospects.computed_at``, ``referrer_stats.as_of``): a full scan of a
million prospects each time the stamp is refreshed took 0.4 s.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD = {
    "ix_prospects_site_score_id": ("site_id", "score", "id"),
    "ix_prospects_site_drive_id": ("site_id", sa.text("coalesce(drive_minutes, 1000000.0)"), "id"),
    "ix_prospects_site_drive_desc_id": ("site_id", sa.text("coalesce(drive_minutes, -1.0)"), "id"),
    "ix_prospects_site_distance_id": ("site_id", "distance_km", "id"),
}
_FILTERS = ("segment", "classification", "taxonomy_code")
NEW = {
    "ix_prospects_list_score": (
        "site_id",
        sa.text("score DESC"),
        "id",
        *_FILTERS,
        "drive_minutes",
        "distance_km",
    ),
    "ix_prospects_list_drive": (
        "site_id",
        sa.text("coalesce(drive_minutes, 1000000.0)"),
        "id",
        *_FILTERS,
        "score",
        "drive_minutes",
        "distance_km",
    ),
    "ix_prospects_list_drive_desc": (
        "site_id",
        sa.text("coalesce(drive_minutes, -1.0)"),
        "id",
        *_FILTERS,
        "score",
        "drive_minutes",
        "distance_km",
    ),
    "ix_prospects_list_distance": (
        "site_id",
        "distance_km",
        "id",
        *_FILTERS,
        "score",
        "drive_minutes",
    ),
}
#: max() of these is in every answer's data stamp: an index makes it one lookup, not a scan
STAMPED = (("prospects", "computed_at"), ("referrer_stats", "as_of"))


def upgrade() -> None:
    for name in OLD:
        op.drop_index(name, table_name="prospects")
    for name, key in NEW.items():
        op.create_index(name, "prospects", list(key))
    for table, column in STAMPED:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in STAMPED:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    for name in NEW:
        op.drop_index(name, table_name="prospects")
    for name, key in OLD.items():
        op.create_index(name, "prospects", list(key))
