"""HTTP cache purges: an outbox of the changes a shared HTTP cache (Varnish) must forget.

A trigger on ``hub.changes`` (written by every publish and withdrawal in its own transaction,
whichever door it came through) adds one row per change to ``hub.http_cache_purges`` and
wakes the purgers with ``NOTIFY hub_http_cache`` at commit. The server processes' purgers
claim rows with ``FOR UPDATE SKIP LOCKED``, send the bans and delete the row, or push
``next_attempt_at`` back when a cache did not answer, so a failed purge is retried and never
fails the publish. What to ban is decided in Python from the change (``hub.http_cache``).

Revision ID: 0013_http_cache_purges
Revises: 0012_console_sessions
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_http_cache_purges"
down_revision = "0012_console_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "http_cache_purges",
        sa.Column("change_id", sa.BigInteger,
                  sa.ForeignKey("hub.changes.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        schema="hub",
    )
    op.create_index("http_cache_purges_due", "http_cache_purges", ["next_attempt_at"],
                    schema="hub")
    op.execute("""
        CREATE FUNCTION hub.queue_http_cache_purge() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO hub.http_cache_purges (change_id) VALUES (NEW.id);
            PERFORM pg_notify('hub_http_cache', NEW.id::text);
            RETURN NEW;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER changes_queue_http_cache_purge AFTER INSERT ON hub.changes
        FOR EACH ROW EXECUTE FUNCTION hub.queue_http_cache_purge()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS changes_queue_http_cache_purge ON hub.changes")
    op.execute("DROP FUNCTION IF EXISTS hub.queue_http_cache_purge()")
    op.drop_table("http_cache_purges", schema="hub")
