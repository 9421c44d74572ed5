"""Versions may hold extra layers (tables) besides the main one, e.g. a GTFS feed's stops,
trips and stop_times published together as one version.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "versions",
        sa.Column("main_layer", sa.Text, nullable=False, server_default="records"),
        schema="hub",
    )
    op.add_column(
        "versions",
        sa.Column("layers", JSONB, nullable=False, server_default="{}"),
        schema="hub",
    )


def downgrade() -> None:
    op.drop_column("versions", "layers", schema="hub")
    op.drop_column("versions", "main_layer", schema="hub")
