"""history and overrides

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:44:05.943697
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("edited_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column(
            "edited_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_overrides_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_overrides")),
        sa.UniqueConstraint("provider_id", "field", name=op.f("uq_provider_overrides_provider_id")),
    )
    op.create_table(
        "source_record_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("replaced_by_batch_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column(
            "replaced_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["load_batches.id"],
            name=op.f("fk_source_record_history_batch_id_load_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_batch_id"],
            ["load_batches.id"],
            name=op.f("fk_source_record_history_replaced_by_batch_id_load_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_records.id"],
            name=op.f("fk_source_record_history_source_record_id_source_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_record_history")),
    )
    with op.batch_alter_table("source_record_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_record_history_source_record_id"),
            ["source_record_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("source_record_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_record_history_source_record_id"))

    op.drop_table("source_record_history")
    op.drop_table("provider_overrides")
