"""Community contributions to records, and the provenance of each version's rows.

``hub.contributions`` holds proposals (new record, correction, removal) as they arrived,
already normalised by the ETL's own preparation, with their moderation state. A version's
``provenance`` says which of its rows came from the community (record key -> contribution
ids and credited display names) and whom the version credits; rows it does not name came
from the city's file. It is written in the publish transaction, like the rest of the row.

Revision ID: 0011_contributions
Revises: 0009_requests
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011_contributions"
down_revision = "0009_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("provenance", JSONB, nullable=False,
                                        server_default="{}"), schema="hub")
    op.create_table(
        "contributions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("dataset_id", sa.Text, sa.ForeignKey("hub.datasets.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("record_key", sa.Text),
        sa.Column("base_version", sa.Integer, nullable=False),
        sa.Column("proposed", JSONB, nullable=False, server_default="{}"),
        sa.Column("previous", JSONB, nullable=False, server_default="{}"),
        sa.Column("sent", JSONB, nullable=False),
        sa.Column("name_folded", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("source", JSONB),
        sa.Column("display_name", sa.Text),
        sa.Column("licence", sa.Text, nullable=False),
        sa.Column("key_id", sa.BigInteger, sa.ForeignKey("hub.api_keys.id")),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("duplicates", JSONB, nullable=False, server_default="[]"),
        sa.Column("warnings", JSONB, nullable=False, server_default="[]"),
        sa.Column("example", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.Text),
        sa.Column("decision_reason", sa.Text),
        sa.Column("published_version", sa.Integer),
        sa.CheckConstraint("kind IN ('new', 'correction', 'removal')", name="contribution_kind"),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'rejected', 'published')",
                           name="contribution_status"),
        schema="hub",
    )
    op.execute("SELECT AddGeometryColumn('hub', 'contributions', 'geom', 4326, 'GEOMETRY', 2)")
    op.create_index("contributions_queue", "contributions", ["dataset_id", "status", "id"],
                    schema="hub")
    op.create_index("contributions_by_key", "contributions", ["key_id", "status"], schema="hub")
    op.execute("CREATE INDEX contributions_geog ON hub.contributions "
               "USING gist (geography(geom)) WHERE status = 'pending'")


def downgrade() -> None:
    op.drop_table("contributions", schema="hub")
    op.drop_column("versions", "provenance", schema="hub")
