"""The WAL position of each publish and withdrawal, so a read replica serves a version only
once it has replayed it.

``published_lsn`` and ``withdrawn_lsn`` hold a WAL position as a byte offset
(``pg_lsn - '0/0'``): a plain integer compares in Python without a pg_lsn type. They are
written just after the commit they describe (hub.db.commit_lsn says why), so NULL means "not
stamped yet" and such a version is read from the primary only. Rows that exist now were
committed before this migration, so the migration's own WAL position is a safe stamp for them.

Revision ID: 0014_replica_commit_lsn
Revises: 0013_http_cache_purges
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_replica_commit_lsn"
down_revision = "0013_http_cache_purges"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("published_lsn", sa.BigInteger), schema="hub")
    op.add_column("versions", sa.Column("withdrawn_lsn", sa.BigInteger), schema="hub")
    op.execute("UPDATE hub.versions SET published_lsn = "
               "pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
    op.execute("UPDATE hub.versions SET withdrawn_lsn = published_lsn "
               "WHERE status = 'withdrawn'")


def downgrade() -> None:
    op.drop_column("versions", "withdrawn_lsn", schema="hub")
    op.drop_column("versions", "published_lsn", schema="hub")
