"""SQLite refuses over-long text as PostgreSQL does: length triggers on every limited column

SQLite ignores ``VARCHAR(n)``: a 100 KB last name loaded on SQLite and made
``prm link`` fail on PostgreSQL. Each table with length-limited columns gets a
``BEFORE INSERT`` and a ``BEFORE UPDATE OF`` trigger that aborts on a value
longer than its column (see :mod:`data.lengths` for why triggers rather than
``CHECK`` constraints). Nothing changes on PostgreSQL, which enforces the
lengths itself.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:00:00
"""

from alembic import op

from data.lengths import drop_length_triggers, sync_length_triggers

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sync_length_triggers(op.get_bind())


def downgrade() -> None:
    drop_length_triggers(op.get_bind())
