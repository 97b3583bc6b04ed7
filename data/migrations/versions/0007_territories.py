"""liaison territory plans (versioned) and expansion scenarios

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 05:00:00
"""

import sqlalchemy as sa
from alembic import op

import data.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _is_pg() -> bool:
    """GiST indexes on geometry columns exist only on PostgreSQL + PostGIS."""
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "territory_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=20), nullable=False),
        sa.Column("balance", sa.Float(), nullable=True),
        sa.Column("compactness", sa.Float(), nullable=False),
        sa.Column("moves", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territory_plans")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_territory_plans_name")),
    )
    op.create_table(
        "territories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("liaison", sa.String(length=100), nullable=False),
        sa.Column("load", sa.Float(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("cell_count", sa.Integer(), nullable=False),
        sa.Column("compactness", sa.Float(), nullable=False),
        sa.Column("contiguous", sa.Boolean(), nullable=False),
        sa.Column("geom", data.types.GeometryColumn("GEOMETRY"), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["territory_plans.id"],
            name=op.f("fk_territories_plan_id_territory_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territories")),
        sa.UniqueConstraint("plan_id", "number", name=op.f("uq_territories_plan_id")),
    )
    if _is_pg():
        op.create_index(
            "ix_territories_geom_gist", "territories", ["geom"], postgresql_using="gist"
        )
    op.create_table(
        "territory_cells",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("h3", sa.BigInteger(), nullable=False),
        sa.Column("territory_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["territory_plans.id"],
            name=op.f("fk_territory_cells_plan_id_territory_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["territory_id"],
            ["territories.id"],
            name=op.f("fk_territory_cells_territory_id_territories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "h3", name=op.f("pk_territory_cells")),
    )
    op.create_index(op.f("ix_territory_cells_h3"), "territory_cells", ["h3"])
    op.create_index(op.f("ix_territory_cells_territory_id"), "territory_cells", ["territory_id"])
    op.create_table(
        "expansion_scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("pick", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("optimal", sa.Boolean(), nullable=False),
        sa.Column("guarantee", sa.String(length=200), nullable=False),
        sa.Column("added", sa.Float(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expansion_scenarios")),
        sa.UniqueConstraint("name", name=op.f("uq_expansion_scenarios_name")),
    )
    op.create_table(
        "expansion_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.Column("pick_order", sa.Integer(), nullable=True),
        sa.Column("cells", sa.Integer(), nullable=False),
        sa.Column("new_cells", sa.Integer(), nullable=False),
        sa.Column("overlap_cells", sa.Integer(), nullable=False),
        sa.Column("white_space_providers", sa.Float(), nullable=False),
        sa.Column("white_space_potential", sa.Float(), nullable=False),
        sa.Column("cannibalised_providers", sa.Float(), nullable=False),
        sa.Column("cannibalised_potential", sa.Float(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("snap_m", sa.Float(), nullable=True),
        sa.Column("overlap", sa.JSON(), nullable=True),
        sa.Column("coverage", data.types.GeometryColumn("GEOMETRY"), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("h3_r7", sa.BigInteger(), nullable=True),
        sa.Column("h3_r8", sa.BigInteger(), nullable=True),
        sa.Column("h3_r9", sa.BigInteger(), nullable=True),
        sa.Column("geom", data.types.GeometryColumn("POINT"), nullable=True),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["expansion_scenarios.id"],
            name=op.f("fk_expansion_candidates_scenario_id_expansion_scenarios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expansion_candidates")),
        sa.UniqueConstraint(
            "scenario_id", "label", name=op.f("uq_expansion_candidates_scenario_id")
        ),
    )
    for col in ("scenario_id", "h3_r7", "h3_r8", "h3_r9"):
        op.create_index(op.f(f"ix_expansion_candidates_{col}"), "expansion_candidates", [col])
    if _is_pg():
        op.create_index(
            "ix_expansion_candidates_geom_gist",
            "expansion_candidates",
            ["geom"],
            postgresql_using="gist",
        )


def downgrade() -> None:
    op.drop_table("expansion_candidates")
    op.drop_table("expansion_scenarios")
    op.drop_table("territory_cells")
    op.drop_table("territories")
    op.drop_table("territory_plans")
