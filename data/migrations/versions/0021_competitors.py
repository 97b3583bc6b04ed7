"""competitors: the clinic's list of other providers of its service lines

One row per competitor (``prm ingest competitors``): a name, the service line
it competes on (NULL: every line), an address and a point placed like a site's
(lat/lon, H3 cells, geometry), and the list's own code when it has one. The
learned score reads the drive minutes from a prospect to the nearest
competitor of the line (:mod:`prospects.features`, ``competitor_minutes``).

Revision ID: 0021
Revises: 0020
Create Date: 2027-01-27 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import data.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "competitors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(40)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("service_line", sa.String(60)),
        sa.Column("address_1", sa.String(300)),
        sa.Column("city", sa.String(100)),
        sa.Column("state", sa.String(2)),
        sa.Column("postal_code", sa.String(5)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("h3_r7", sa.BigInteger),
        sa.Column("h3_r8", sa.BigInteger),
        sa.Column("h3_r9", sa.BigInteger),
        sa.Column("geom", data.types.GeometryColumn("POINT")),
        sa.UniqueConstraint("code", name=op.f("uq_competitors_code")),
    )
    for res in (7, 8, 9):
        op.create_index(op.f(f"ix_competitors_h3_r{res}"), "competitors", [f"h3_r{res}"])
    if op.get_bind().dialect.name == "postgresql":
        # GiST on geometry exists only on PostGIS (SQLite stores WKB)
        op.create_index(
            "ix_competitors_geom_gist", "competitors", ["geom"], postgresql_using="gist"
        )


def downgrade() -> None:
    # the table's indexes go with it on both backends
    op.drop_table("competitors")
