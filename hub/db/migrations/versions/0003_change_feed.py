"""Change feed: one row per publish and per withdrawal, recorded by a trigger on hub.versions.

The trigger makes the feed impossible to forget: every path that publishes (the CLI, the
GTFS loader, future moderation) inserts a version row, and the event is written in that same
transaction. Event ids are handed out under a transaction-level advisory lock held until
commit, so ids become visible in increasing order and a client polling ``since=<id>`` never
skips an event that commits late.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FEED_LOCK = 724_601  # arbitrary advisory-lock key of the change feed


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_count", sa.BigInteger),
        sa.Column("added", sa.BigInteger),
        sa.Column("removed", sa.BigInteger),
        sa.Column("changed", sa.BigInteger),
        sa.Column("previous_version", sa.Integer),
        sa.Column("reason", sa.Text),
        sa.CheckConstraint("kind IN ('publish', 'withdraw')", name="change_kind"),
        sa.ForeignKeyConstraint(["dataset_id", "version"],
                                ["hub.versions.dataset_id", "hub.versions.version"]),
        schema="hub",
    )
    op.create_index("changes_at", "changes", ["at"], schema="hub")
    op.execute(f"""
        CREATE FUNCTION hub.record_version_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock({FEED_LOCK});
            IF TG_OP = 'INSERT' THEN
                INSERT INTO hub.changes (kind, dataset_id, version, at, row_count, added,
                                         removed, changed, previous_version)
                VALUES ('publish', NEW.dataset_id, NEW.version, NEW.published_at,
                        NEW.row_count, (NEW.change_summary->>'added')::bigint,
                        (NEW.change_summary->>'removed')::bigint,
                        (NEW.change_summary->>'changed')::bigint,
                        (NEW.change_summary->>'previous_version')::int);
            ELSIF NEW.status = 'withdrawn' AND OLD.status IS DISTINCT FROM 'withdrawn' THEN
                INSERT INTO hub.changes (kind, dataset_id, version, at, row_count, reason)
                VALUES ('withdraw', NEW.dataset_id, NEW.version,
                        coalesce(NEW.withdrawn_at, now()), NEW.row_count,
                        NEW.withdrawn_reason);
            END IF;
            RETURN NEW;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER versions_change_feed
        AFTER INSERT OR UPDATE OF status ON hub.versions
        FOR EACH ROW EXECUTE FUNCTION hub.record_version_change()
    """)
    # Versions published before the feed existed, in publication order.
    op.execute("""
        INSERT INTO hub.changes (kind, dataset_id, version, at, row_count, added, removed,
                                 changed, previous_version)
        SELECT 'publish', dataset_id, version, published_at, row_count,
               (change_summary->>'added')::bigint, (change_summary->>'removed')::bigint,
               (change_summary->>'changed')::bigint,
               (change_summary->>'previous_version')::int
        FROM hub.versions ORDER BY published_at, dataset_id, version
    """)
    op.execute("""
        INSERT INTO hub.changes (kind, dataset_id, version, at, row_count, reason)
        SELECT 'withdraw', dataset_id, version, withdrawn_at, row_count, withdrawn_reason
        FROM hub.versions WHERE status = 'withdrawn' AND withdrawn_at IS NOT NULL
        ORDER BY withdrawn_at
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS versions_change_feed ON hub.versions")
    op.execute("DROP FUNCTION IF EXISTS hub.record_version_change()")
    op.drop_table("changes", schema="hub")
