"""CKAN sync state: the last push attempt and its outcome per (CKAN site, dataset).

Written by `hub ckan push` and by the optional push after each publish, which must never make
a publish fail: a failed push is recorded here and the next push retries it (a push always
re-plans from the real state of CKAN, so this table is a record for people, not a queue).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ckan_sync",
        sa.Column("ckan_url", sa.Text, nullable=False),
        sa.Column("dataset_id", sa.Text, nullable=False),
        sa.Column("package_name", sa.Text, nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("ckan_url", "dataset_id"),
        schema="hub",
    )


def downgrade() -> None:
    op.drop_table("ckan_sync", schema="hub")
