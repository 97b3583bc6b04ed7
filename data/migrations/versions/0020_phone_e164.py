"""Phone numbers in E.164: providers.phone and organizations.phone widened to 16 characters

Numbers are read in their record's country's plan and stored in E.164
(``+16145550100``, ``+33145678901``): a ``+`` and up to 15 digits, wider than
the ten digits of a US number stored before. PostgreSQL widens the columns;
SQLite ignores declared lengths, and its length triggers (:mod:`data.lengths`)
are made to match the models again. Numbers stored before keep their ten
digits until their file is loaded again (every reader of a stored phone reads
both forms: :func:`core.country.display_phone`).

Revision ID: 0020
Revises: 0019
Create Date: 2027-01-20 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from data.lengths import sync_length_triggers

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_TABLES = ("providers", "organizations")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sync_length_triggers(bind)
        return
    for table in _TABLES:
        op.alter_column(
            table, "phone", type_=sa.String(16), existing_type=sa.String(10), existing_nullable=True
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return  # the triggers follow the models of the code that runs
    for table in _TABLES:
        phone = sa.column("phone", sa.String)
        # numbers that do not fit ten digits any more are dropped, not cut
        op.execute(
            sa.table(table, phone).update().where(sa.func.length(phone) > 10).values(phone=None)
        )
        op.alter_column(
            table, "phone", type_=sa.String(10), existing_type=sa.String(16), existing_nullable=True
        )
