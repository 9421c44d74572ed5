"""Folded search text for the catalogue, and which folding each version's ``_search`` holds.

Search folds spelling variants (hub/textfold.py) on the stored and the query side. The
catalogue keeps its folded text per ranking tier (title, keywords, description) beside the
dataset row, written at publish; each version row records the identity of the folding rules
its ``_search`` column was written with (NULL: before folding, NFKC and lower case only), so
`hub db refold` knows what to rewrite after the rules or the synonym file change. The
folding is Python, so this migration cannot fill the columns: `hub db refold` does.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_DATASET_COLUMNS = ("search_title", "search_keywords", "search_description")


def upgrade() -> None:
    for name in _DATASET_COLUMNS:
        op.add_column("datasets", sa.Column(name, sa.Text, nullable=False, server_default=""),
                      schema="hub")
    op.add_column("versions", sa.Column("search_fold", sa.Text), schema="hub")


def downgrade() -> None:
    op.drop_column("versions", "search_fold", schema="hub")
    for name in _DATASET_COLUMNS:
        op.drop_column("datasets", name, schema="hub")
