"""NUCC code-set versions side by side: taxonomy keyed by (code, version)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    "code",
    "grouping",
    "classification",
    "specialization",
    "display_name",
    "section",
    "version",
)


def _table(name: str, *, composite: bool) -> None:
    op.create_table(
        name,
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("grouping", sa.String(length=200), nullable=True),
        sa.Column("classification", sa.String(length=200), nullable=True),
        sa.Column("specialization", sa.String(length=200), nullable=True),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("section", sa.String(length=40), nullable=True),
        sa.Column("version", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint(
            *(("code", "version") if composite else ("code",)), name="pk_taxonomy"
        ),
    )


def _swap(composite: bool) -> None:
    with op.batch_alter_table("taxonomy") as batch_op:
        batch_op.drop_index("ix_taxonomy_classification")
    op.rename_table("taxonomy", "taxonomy_old")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE taxonomy_old RENAME CONSTRAINT pk_taxonomy TO pk_taxonomy_old")
    _table("taxonomy", composite=composite)
    new = sa.table("taxonomy", *(sa.column(c) for c in COLUMNS))
    old = sa.table("taxonomy_old", *(sa.column(c) for c in COLUMNS))
    op.execute(sa.insert(new).from_select(list(COLUMNS), sa.select(*old.c)))
    op.drop_table("taxonomy_old")
    op.create_index("ix_taxonomy_classification", "taxonomy", ["classification"])
    if composite:
        op.create_index("ix_taxonomy_code", "taxonomy", ["code"])


def upgrade() -> None:
    _swap(composite=True)


def downgrade() -> None:
    op.drop_index("ix_taxonomy_code", table_name="taxonomy")
    _swap(composite=False)
