"""Usage statistics and webhooks (the event outbox).

Usage: ``hub.usage_daily`` adds up requests and records served per (day, dataset, version,
kind, format); ``hub.usage_clients`` holds the day's salted client hashes, whose first
appearance per (day, dataset, version) adds one to ``hub.usage_client_counts``. The salt of
a day (``hub.usage_salts``) is shared by every server process and deleted once the day is
over, after which the hashes cannot be linked to an address by anyone; old hashes are
deleted too (``hub.data.usage``).

Webhooks: ``hub.webhook_events`` is the outbox. ``hub.emit_event(type, payload)`` writes one
event and one pending delivery per active endpoint subscribed to its type, in the caller's
transaction, so an event exists if and only if the change that caused it committed. A
trigger on ``hub.changes`` (the change feed every publish and withdrawal already writes, in
the same transaction) emits ``version.published`` and ``version.withdrawn``, so no publish
path can forget to, and the publish code does not change.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _usage()
    _webhooks()


def _usage() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("format", sa.Text, nullable=False, server_default=""),
        sa.Column("requests", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("records", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("day", "dataset_id", "version", "kind", "format"),
        schema="hub",
    )
    op.create_index("usage_daily_dataset", "usage_daily", ["dataset_id", "day"], schema="hub")
    op.create_table(
        "usage_clients",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("client_hash", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("day", "dataset_id", "version", "client_hash"),
        schema="hub",
    )
    op.create_table(
        "usage_client_counts",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("clients", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "dataset_id", "version"),
        schema="hub",
    )
    op.create_table(
        "usage_salts",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        schema="hub",
    )


def _webhooks() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", ARRAY(sa.Text), nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("failure_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.CheckConstraint("cardinality(events) > 0", name="webhook_has_event"),
        schema="hub",
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        schema="hub",
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("endpoint_id", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("last_response", sa.Text),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')",
                           name="webhook_delivery_status"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["hub.webhook_endpoints.id"],
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["hub.webhook_events.id"]),
        schema="hub",
    )
    op.create_index("webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"],
                    schema="hub", postgresql_where=sa.text("status = 'pending'"))
    op.create_index("webhook_deliveries_endpoint", "webhook_deliveries",
                    ["endpoint_id", "id"], schema="hub")
    op.execute("""
        CREATE FUNCTION hub.emit_event(event_type text, event_payload jsonb) RETURNS text
        LANGUAGE plpgsql AS $$
        DECLARE
            event_id text := 'msg_' || replace(gen_random_uuid()::text, '-', '');
        BEGIN
            INSERT INTO hub.webhook_events (id, type, payload)
            VALUES (event_id, event_type, event_payload);
            INSERT INTO hub.webhook_deliveries (endpoint_id, event_id)
            SELECT id, event_id FROM hub.webhook_endpoints
            WHERE active AND event_type = ANY (events);
            RETURN event_id;
        END $$
    """)
    op.execute("""
        CREATE FUNCTION hub.emit_version_event() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM hub.emit_event(
                CASE NEW.kind WHEN 'publish' THEN 'version.published'
                              ELSE 'version.withdrawn' END,
                jsonb_strip_nulls(jsonb_build_object(
                    'dataset', NEW.dataset_id, 'version', NEW.version, 'change', NEW.id,
                    'reason', NEW.reason)));
            RETURN NEW;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER changes_emit_event AFTER INSERT ON hub.changes
        FOR EACH ROW EXECUTE FUNCTION hub.emit_version_event()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS changes_emit_event ON hub.changes")
    op.execute("DROP FUNCTION IF EXISTS hub.emit_version_event()")
    op.execute("DROP FUNCTION IF EXISTS hub.emit_event(text, jsonb)")
    for table in ("webhook_deliveries", "webhook_events", "webhook_endpoints", "usage_salts",
                  "usage_client_counts", "usage_clients", "usage_daily"):
        op.drop_table(table, schema="hub")
