"""Catalogue tables (schema ``hub``). Version data lives in schema ``data``, one table each.

These definitions mirror the Alembic migrations; they are used to build statements, never
to create tables (`hub db migrate` does that).
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

CATALOG_SCHEMA = "hub"
DATA_SCHEMA = "data"

metadata = MetaData(schema=CATALOG_SCHEMA)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Text, primary_key=True),
    Column("title_ja", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("description_ja", Text, nullable=False, server_default=""),
    Column("description_en", Text, nullable=False, server_default=""),
    Column("organisation", Text, nullable=False),
    Column("licence", Text, nullable=False),  # an id of hub.licences (SPDX, or "other")
    Column("licence_note", Text, nullable=False, server_default=""),
    Column("licence_title", Text),  # an "other" licence's own title
    Column("licence_url", Text),  # an "other" licence's own URL
    Column("keywords", ARRAY(Text), nullable=False, server_default="{}"),
    Column("definition", JSONB, nullable=False),
    Column("current_version", Integer),
    # Folded text (hub.textfold) per ranking tier of catalogue search, written at publish.
    Column("search_title", Text, nullable=False, server_default=""),
    Column("search_keywords", Text, nullable=False, server_default=""),
    Column("search_description", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("dataset_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("table_name", Text, nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("bbox", ARRAY(Float)),
    Column("schema", JSONB, nullable=False),
    Column("content_sha256", Text, nullable=False),
    Column("source_name", Text, nullable=False),
    Column("source_sha256", Text, nullable=False),
    Column("publisher", Text, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("change_summary", JSONB, nullable=False),
    Column("warnings", JSONB, nullable=False, server_default="[]"),
    Column("status", Text, nullable=False, server_default="published"),
    Column("withdrawn_reason", Text),
    Column("withdrawn_at", DateTime(timezone=True)),
    Column("main_layer", Text, nullable=False, server_default="records"),
    Column("layers", JSONB, nullable=False, server_default="{}"),
    # Identity of the folding rules the version's _search text was written with (NULL: NFKC
    # and lower case only, before folding); `hub db refold` rewrites stale ones.
    Column("search_fold", Text),
    # Which rows came from the community, and whom the version credits (migration
    # 0011_contributions; hub.cocreation.provenance says what it holds).
    Column("provenance", JSONB, nullable=False, server_default="{}"),
    PrimaryKeyConstraint("dataset_id", "version"),
    ForeignKeyConstraint(["dataset_id"], ["hub.datasets.id"]),
)

# One row per publish and per withdrawal, written by a trigger on hub.versions (migration
# 0003); ``id`` is the change id clients pass back as ``since``.
changes = Table(
    "changes",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("dataset_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("row_count", BigInteger),
    Column("added", BigInteger),
    Column("removed", BigInteger),
    Column("changed", BigInteger),
    Column("previous_version", Integer),
    Column("reason", Text),
)

# API keys (migration 0007): the secret is never stored, only its SHA-256 and a display prefix.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),  # 'staff' (issued) or 'self' (self-service)
    Column("scopes", ARRAY(Text), nullable=False),
    Column("datasets", ARRAY(Text)),  # NULL: every dataset
    Column("token_sha256", LargeBinary, nullable=False),
    Column("token_prefix", Text, nullable=False),
    Column("rate_limit", Integer),  # requests per window; NULL: the settings' default
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", Text),
    Column("revoked_reason", Text),
    Column("last_used_at", DateTime(timezone=True)),
)

# Append-only record of every write (migration 0007; a trigger refuses UPDATE/DELETE/TRUNCATE).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("key_id", BigInteger),
    Column("key_name", Text),
    Column("action", Text, nullable=False),
    Column("object_type", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("client_address", Text),
    Column("result", Text, nullable=False),
    Column("detail", JSONB, nullable=False),
)

# -- co-creation (migration 0009_requests) -------------------------------------------------------

# A data request; ``status`` .. ``reason_code`` repeat its last timeline event, ``votes``
# counts its votes (written with them), ``search_text`` is its folded title and description.
requests = Table(
    "requests",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("wanted", JSONB, nullable=False),
    Column("area", Geometry("Geometry", 4326, spatial_index=False)),
    Column("municipality", Text),
    Column("organisation", Text),
    Column("status", Text, nullable=False),
    Column("target_date", Date),
    Column("dataset_id", Text),
    Column("version", Integer),
    Column("reason_code", Text),
    Column("votes", Integer, nullable=False),
    Column("key_id", BigInteger),
    Column("author", Text, nullable=False),
    Column("search_text", Text, nullable=False),
    Column("example", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

request_events = Table(
    "request_events",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("request_id", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("note", Text),
    Column("reason_code", Text),
    Column("target_date", Date),
    Column("dataset_id", Text),
    Column("version", Integer),
    Column("key_id", BigInteger),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

request_votes = Table(
    "request_votes",
    metadata,
    Column("request_id", BigInteger, nullable=False),
    Column("key_id", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("request_id", "key_id"),
)

request_followers = Table(
    "request_followers",
    metadata,
    Column("request_id", BigInteger, nullable=False),
    Column("key_id", BigInteger, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("request_id", "key_id"),
)

request_comments = Table(
    "request_comments",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("request_id", BigInteger, nullable=False),
    Column("key_id", BigInteger),
    Column("author", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

showcases = Table(
    "showcases",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("authors", ARRAY(Text), nullable=False),
    Column("request_id", BigInteger),
    Column("status", Text, nullable=False),
    Column("decision_reason", Text),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", Text),
    Column("image", LargeBinary),
    Column("image_type", Text),
    Column("key_id", BigInteger),
    Column("author", Text, nullable=False),
    Column("example", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

showcase_datasets = Table(
    "showcase_datasets",
    metadata,
    Column("showcase_id", BigInteger, nullable=False),
    Column("dataset_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("showcase_id", "dataset_id", "version"),
)

# One report per (item, key); items of every reportable kind share the table.
reports = Table(
    "reports",
    metadata,
    Column("item_type", Text, nullable=False),
    Column("item_id", Text, nullable=False),
    Column("key_id", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("item_type", "item_id", "key_id"),
)

# Whether an item is hidden (reported enough) and what a moderator decided about it.
item_moderation = Table(
    "item_moderation",
    metadata,
    Column("item_type", Text, nullable=False),
    Column("item_id", Text, nullable=False),
    Column("hidden", Boolean, nullable=False),
    Column("decision", Text),
    Column("reviewed_at", DateTime(timezone=True)),
    Column("reviewed_by", Text),
    Column("note", Text),
    PrimaryKeyConstraint("item_type", "item_id"),
)

# Usage statistics (migration usage_and_webhooks): counts per day, dataset, version, kind
# and format; the day's salted client hashes (first sighting adds to usage_client_counts);
# the day's salt.
usage_daily = Table(
    "usage_daily",
    metadata,
    Column("day", Date, nullable=False),
    Column("dataset_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("format", Text, nullable=False),
    Column("requests", BigInteger, nullable=False),
    Column("records", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "dataset_id", "version", "kind", "format"),
)

usage_clients = Table(
    "usage_clients",
    metadata,
    Column("day", Date, nullable=False),
    Column("dataset_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("client_hash", LargeBinary, nullable=False),
    PrimaryKeyConstraint("day", "dataset_id", "version", "client_hash"),
)

usage_client_counts = Table(
    "usage_client_counts",
    metadata,
    Column("day", Date, nullable=False),
    Column("dataset_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("clients", BigInteger, nullable=False),
    PrimaryKeyConstraint("day", "dataset_id", "version"),
)

usage_salts = Table(
    "usage_salts",
    metadata,
    Column("day", Date, primary_key=True),
    Column("salt", LargeBinary, nullable=False),
)

# Webhooks (migration usage_and_webhooks): subscribed endpoints, the event outbox (written
# by hub.emit_event, also from a trigger on hub.changes), one delivery per (event, endpoint).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", ARRAY(Text), nullable=False),
    Column("secret", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("failure_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("endpoint_id", BigInteger, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("last_response", Text),
    Column("delivered_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(["endpoint_id"], ["hub.webhook_endpoints.id"], ondelete="CASCADE"),
    ForeignKeyConstraint(["event_id"], ["hub.webhook_events.id"]),
)

# Community contributions to records (migration 0011_contributions): proposals normalised on
# arrival, queued for moderation, published into a version through the one pipeline.
contributions = Table(
    "contributions",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("dataset_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("record_key", Text),
    Column("base_version", Integer, nullable=False),
    Column("proposed", JSONB, nullable=False, server_default="{}"),
    Column("previous", JSONB, nullable=False, server_default="{}"),
    Column("sent", JSONB, nullable=False),
    Column("name_folded", Text),
    Column("reason", Text),
    Column("comment", Text, nullable=False),
    Column("source", JSONB),
    Column("display_name", Text),
    Column("licence", Text, nullable=False),
    Column("key_id", BigInteger),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("duplicates", JSONB, nullable=False, server_default="[]"),
    Column("warnings", JSONB, nullable=False, server_default="[]"),
    Column("example", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", Text),
    Column("decision_reason", Text),
    Column("published_version", Integer),
    Column("geom", Geometry("GEOMETRY", 4326, spatial_index=False)),
    ForeignKeyConstraint(["dataset_id"], ["hub.datasets.id"]),
)

# Signed-in portal sessions (migration 0012_console_sessions): the cookie's SHA-256, the key
# it was opened with, and the session's CSRF token.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id_sha256", LargeBinary, primary_key=True),
    Column("key_id", BigInteger, nullable=False),
    Column("csrf_token", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
