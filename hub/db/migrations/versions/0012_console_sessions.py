"""Signed-in portal sessions: a browser's session cookie, stored hashed, pointing at a key.

``hub.portal_sessions`` holds one row per signed-in browser. The cookie's value is never
stored, only its SHA-256 (like keys' tokens), so a copy of the table signs nobody in. Each
row names the key it was opened with; every request reads the key with the session, so a
revoked or expired key ends its sessions at once, and deleting a key deletes them. The CSRF
token of the session's forms is kept beside it (the synchronizer token).

Revision ID: 0012_console_sessions
Revises: 0011_contributions
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_console_sessions"
down_revision = "0011_contributions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id_sha256", sa.LargeBinary, primary_key=True),
        sa.Column("key_id", sa.BigInteger, sa.ForeignKey("hub.api_keys.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("csrf_token", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        schema="hub",
    )
    op.create_index("portal_sessions_key", "portal_sessions", ["key_id"], schema="hub")
    op.create_index("portal_sessions_expiry", "portal_sessions", ["expires_at"], schema="hub")


def downgrade() -> None:
    op.drop_table("portal_sessions", schema="hub")
