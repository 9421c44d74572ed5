"""Co-creation, part one: data requests, showcases, and reports on any co-created item.

``hub.requests`` holds one row per data request with its current status (a denormalised
copy of the last ``hub.request_events`` row, so lists filter and sort on one table) and its
vote count (kept with the votes in one transaction, so "sort by votes" pages by keyset on an
indexed column). ``hub.request_events`` is the status timeline; votes, comments and followers
have a table each. ``hub.showcases`` pins each dataset it uses to a published version
(a foreign key to ``hub.versions``, so a pin can never name a version that does not exist).
``hub.reports`` holds one report per (item, key); ``hub.item_moderation`` says whether an item
is hidden (reported by enough distinct keys) and what a moderator decided.

Revision ID: 0009_requests
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0009_requests"
down_revision = "0008"
branch_labels = None
depends_on = None

_NOW = sa.func.now()


def _when(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=_NOW)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("wanted", JSONB, nullable=False, server_default="{}"),
        sa.Column("area", Geometry("Geometry", 4326, spatial_index=False)),
        sa.Column("municipality", sa.Text),
        sa.Column("organisation", sa.Text),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("target_date", sa.Date),
        sa.Column("dataset_id", sa.Text),
        sa.Column("version", sa.Integer),
        sa.Column("reason_code", sa.Text),
        sa.Column("votes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("key_id", sa.BigInteger),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False, server_default=""),
        sa.Column("example", sa.Boolean, nullable=False, server_default=sa.false()),
        _when(), _when("updated_at"),
        sa.CheckConstraint("status IN ('open', 'under-review', 'planned', 'published', "
                           "'declined')", name="request_status"),
        sa.CheckConstraint("votes >= 0", name="request_votes"),
        sa.ForeignKeyConstraint(["dataset_id", "version"],
                                ["hub.versions.dataset_id", "hub.versions.version"]),
        schema="hub",
    )
    op.create_index("requests_votes", "requests", ["votes", "id"], schema="hub")
    op.create_index("requests_created", "requests", ["created_at", "id"], schema="hub")
    op.create_index("requests_updated", "requests", ["updated_at", "id"], schema="hub")
    op.create_index("requests_key_status", "requests", ["key_id", "status"], schema="hub")
    op.execute("CREATE INDEX requests_search ON hub.requests "
               "USING gin (search_text gin_trgm_ops)")
    op.create_table(
        "request_events",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("request_id", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("reason_code", sa.Text),
        sa.Column("target_date", sa.Date),
        sa.Column("dataset_id", sa.Text),
        sa.Column("version", sa.Integer),
        sa.Column("key_id", sa.BigInteger),
        sa.Column("actor", sa.Text, nullable=False),
        _when("at"),
        sa.ForeignKeyConstraint(["request_id"], ["hub.requests.id"], ondelete="CASCADE"),
        schema="hub",
    )
    op.create_index("request_events_request", "request_events", ["request_id", "id"],
                    schema="hub")
    op.create_table(
        "request_votes",
        sa.Column("request_id", sa.BigInteger, nullable=False),
        sa.Column("key_id", sa.BigInteger, nullable=False),
        _when("at"),
        sa.PrimaryKeyConstraint("request_id", "key_id"),
        sa.ForeignKeyConstraint(["request_id"], ["hub.requests.id"], ondelete="CASCADE"),
        schema="hub",
    )
    op.create_table(
        "request_followers",
        sa.Column("request_id", sa.BigInteger, nullable=False),
        sa.Column("key_id", sa.BigInteger, nullable=False),
        _when("at"),
        sa.PrimaryKeyConstraint("request_id", "key_id"),
        sa.ForeignKeyConstraint(["request_id"], ["hub.requests.id"], ondelete="CASCADE"),
        schema="hub",
    )
    op.create_table(
        "request_comments",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("request_id", sa.BigInteger, nullable=False),
        sa.Column("key_id", sa.BigInteger),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        _when(),
        sa.ForeignKeyConstraint(["request_id"], ["hub.requests.id"], ondelete="CASCADE"),
        schema="hub",
    )
    op.create_index("request_comments_request", "request_comments", ["request_id", "id"],
                    schema="hub")
    op.create_table(
        "showcases",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("authors", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("request_id", sa.BigInteger),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("decision_reason", sa.Text),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.Text),
        sa.Column("image", sa.LargeBinary),
        sa.Column("image_type", sa.Text),
        sa.Column("key_id", sa.BigInteger),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("example", sa.Boolean, nullable=False, server_default=sa.false()),
        _when(),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')",
                           name="showcase_status"),
        sa.ForeignKeyConstraint(["request_id"], ["hub.requests.id"]),
        schema="hub",
    )
    op.create_index("showcases_key_status", "showcases", ["key_id", "status"], schema="hub")
    op.create_table(
        "showcase_datasets",
        sa.Column("showcase_id", sa.BigInteger, nullable=False),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("showcase_id", "dataset_id", "version"),
        sa.ForeignKeyConstraint(["showcase_id"], ["hub.showcases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dataset_id", "version"],
                                ["hub.versions.dataset_id", "hub.versions.version"]),
        schema="hub",
    )
    op.create_index("showcase_datasets_dataset", "showcase_datasets", ["dataset_id"],
                    schema="hub")
    op.create_table(
        "reports",
        sa.Column("item_type", sa.Text, nullable=False),
        sa.Column("item_id", sa.Text, nullable=False),
        sa.Column("key_id", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _when("at"),
        sa.PrimaryKeyConstraint("item_type", "item_id", "key_id"),
        schema="hub",
    )
    op.create_table(
        "item_moderation",
        sa.Column("item_type", sa.Text, nullable=False),
        sa.Column("item_id", sa.Text, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("decision", sa.Text),
        sa.Column("reviewed_at", sa.DateTime(timezone=True)),
        sa.Column("reviewed_by", sa.Text),
        sa.Column("note", sa.Text),
        sa.PrimaryKeyConstraint("item_type", "item_id"),
        sa.CheckConstraint("decision IS NULL OR decision IN ('keep', 'remove')",
                           name="item_moderation_decision"),
        schema="hub",
    )


def downgrade() -> None:
    for table in ("item_moderation", "reports", "showcase_datasets", "showcases",
                  "request_comments", "request_followers", "request_votes", "request_events",
                  "requests"):
        op.drop_table(table, schema="hub")
