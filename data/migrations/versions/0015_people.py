"""people, not keys: a key's person, carried by sessions and named in the audit log

``api_keys.person``: the named person a key belongs to (keys issued before
this revision belong to their key name). ``api_sessions.person`` and
``sign_in_links.person``: the person a session speaks for. ``audit_log.person``:
who made the request (only a column added: the log's triggers refuse updates,
and none is needed). ``prospect_status.version``: bumped by every change, the
status resource's ETag (``If-Match``). ``interactions.outcome``: a visit's
outcome (held, not_met, declined).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from data.lengths import drop_length_triggers, sync_length_triggers

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOT NULL with a default on both backends (SQLite cannot add one otherwise without
    # rebuilding api_keys, whose sessions would go with it), then each key's own name
    op.add_column(
        "api_keys", sa.Column("person", sa.String(100), nullable=False, server_default="")
    )
    op.execute(sa.text("UPDATE api_keys SET person = name"))
    for table in ("api_sessions", "sign_in_links", "audit_log"):
        op.add_column(table, sa.Column("person", sa.String(100)))
    op.execute(
        sa.text(
            "UPDATE api_sessions SET person = "
            "(SELECT k.person FROM api_keys k WHERE k.id = api_sessions.key_id)"
        )
    )
    op.execute(
        sa.text(
            "UPDATE sign_in_links SET person = "
            "(SELECT k.person FROM api_keys k WHERE k.id = sign_in_links.key_id)"
        )
    )
    op.add_column(
        "prospect_status",
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column("interactions", sa.Column("outcome", sa.String(20)))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite 3.35+ has it): a batch rebuild of api_keys would take its
    # sessions with it (ON DELETE CASCADE), and one of audit_log would drop its triggers.
    # SQLite's length triggers name the columns: off while they go, back for those that stay.
    drop_length_triggers(op.get_bind())
    op.drop_column("interactions", "outcome")
    op.drop_column("prospect_status", "version")
    for table in ("audit_log", "sign_in_links", "api_sessions", "api_keys"):
        op.drop_column(table, "person")
    sync_length_triggers(op.get_bind())
