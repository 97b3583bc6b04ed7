"""entity resolution: reviewer decisions, review queue, fitted models, linked hash

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _pair_columns(table: str) -> list:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("left_record_id", sa.Integer(), nullable=False),
        sa.Column("right_record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["left_record_id"],
            ["source_records.id"],
            ondelete="CASCADE",
            name=op.f(f"fk_{table}_left_record_id_source_records"),
        ),
        sa.ForeignKeyConstraint(
            ["right_record_id"],
            ["source_records.id"],
            ondelete="CASCADE",
            name=op.f(f"fk_{table}_right_record_id_source_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(
            "left_record_id", "right_record_id", name=op.f(f"uq_{table}_left_record_id")
        ),
        sa.CheckConstraint(
            "left_record_id < right_record_id", name=op.f(f"ck_{table}_ordered_pair")
        ),
    ]


def upgrade() -> None:
    now = sa.text("(CURRENT_TIMESTAMP)")
    op.create_table(
        "match_decisions",
        *_pair_columns("match_decisions"),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.CheckConstraint(
            "decision IN ('accept', 'reject')", name=op.f("ck_match_decisions_decision_kind")
        ),
    )
    op.create_table(
        "review_pairs",
        *_pair_columns("review_pairs"),
        sa.Column("match_probability", sa.Float(), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
    )
    op.create_table(
        "link_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=now, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_models")),
    )
    for table in ("match_decisions", "review_pairs"):
        for col in ("left_record_id", "right_record_id"):
            op.create_index(op.f(f"ix_{table}_{col}"), table, [col])
    op.create_index(
        op.f("ix_review_pairs_match_probability"), "review_pairs", ["match_probability"]
    )
    with op.batch_alter_table("source_records") as batch_op:
        batch_op.add_column(sa.Column("linked_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_records") as batch_op:
        batch_op.drop_column("linked_hash")
    op.drop_table("link_models")
    op.drop_table("review_pairs")
    op.drop_table("match_decisions")
