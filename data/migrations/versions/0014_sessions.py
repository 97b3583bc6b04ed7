"""browser sessions and one-time sign-in links

``api_sessions``: a session made from an API key (``POST /v1/session``), the
SHA-256 of its opaque id, its CSRF token, whose key it carries (a stored key,
or a bootstrap key's role and hash) and when it expires or ended.
``sign_in_links``: one-time links exchanged for a session.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _credential_columns() -> list[sa.Column]:
    return [
        sa.Column(
            "key_id", sa.Integer, sa.ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
        ),
        sa.Column("bootstrap_role", sa.String(20)),
        sa.Column("bootstrap_hash", sa.String(64)),
        sa.Column("actor", sa.String(40), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "api_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        *_credential_columns(),
    )
    op.create_table(
        "sign_in_links",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        *_credential_columns(),
    )


def downgrade() -> None:
    op.drop_table("sign_in_links")
    op.drop_table("api_sessions")
