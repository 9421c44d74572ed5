"""Structured licences: ``hub.datasets.licence`` holds a licence id of hub.licences (SPDX),
with the definition's note, and an ``other`` licence's own title and URL beside it.

Rows written before hold free text that no rule reads reliably; they become ``other`` with
that text as the title (nothing is lost or guessed) until the dataset's next publish writes
its definition's ``[licence]``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("datasets", sa.Column("licence_note", sa.Text, nullable=False,
                                        server_default=""), schema="hub")
    op.add_column("datasets", sa.Column("licence_title", sa.Text), schema="hub")
    op.add_column("datasets", sa.Column("licence_url", sa.Text), schema="hub")
    op.execute("UPDATE hub.datasets SET licence_title = licence, licence = 'other'")


def downgrade() -> None:
    op.execute("UPDATE hub.datasets SET licence = COALESCE(licence_title, licence)")
    op.drop_column("datasets", "licence_url", schema="hub")
    op.drop_column("datasets", "licence_title", schema="hub")
    op.drop_column("datasets", "licence_note", schema="hub")
