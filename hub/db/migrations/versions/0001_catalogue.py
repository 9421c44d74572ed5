"""Catalogue: datasets and their immutable versions; extensions PostGIS and pg_trgm.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In public, not in the first schema of the migrating role's search path ("$user" = hub),
    # so other roles (read-only users, GDAL/QGIS, tipg) find the geometry type too.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    op.execute("CREATE SCHEMA IF NOT EXISTS data")
    op.create_table(
        "datasets",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title_ja", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("description_ja", sa.Text, nullable=False, server_default=""),
        sa.Column("description_en", sa.Text, nullable=False, server_default=""),
        sa.Column("organisation", sa.Text, nullable=False),
        sa.Column("licence", sa.Text, nullable=False),
        sa.Column("keywords", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("definition", JSONB, nullable=False),
        sa.Column("current_version", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id ~ '^[a-z0-9][a-z0-9-]{0,62}$'", name="dataset_id_slug"),
        schema="hub",
    )
    op.create_table(
        "versions",
        sa.Column("dataset_id", sa.Text, sa.ForeignKey("hub.datasets.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("table_name", sa.Text, nullable=False, unique=True),
        sa.Column("row_count", sa.BigInteger, nullable=False),
        sa.Column("bbox", ARRAY(sa.Float)),
        sa.Column("schema", JSONB, nullable=False),
        sa.Column("content_sha256", sa.Text, nullable=False),
        sa.Column("source_name", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.Text, nullable=False),
        sa.Column("publisher", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_summary", JSONB, nullable=False),
        sa.Column("warnings", JSONB, nullable=False, server_default="[]"),
        sa.Column("status", sa.Text, nullable=False, server_default="published"),
        sa.Column("withdrawn_reason", sa.Text),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("dataset_id", "version"),
        sa.CheckConstraint("status IN ('published', 'withdrawn')", name="version_status"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        schema="hub",
    )
    op.create_index("datasets_keywords_gin", "datasets", ["keywords"], schema="hub",
                    postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("versions", schema="hub")
    op.drop_table("datasets", schema="hub")
    op.execute("DROP SCHEMA IF EXISTS data CASCADE")
