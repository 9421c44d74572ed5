"""Database roles: hub_api (read, co-creation writes) and hub_publish (version tables).

Revision ID: 0015_roles
Revises: 0014_replica_commit_lsn
"""

from __future__ import annotations

from alembic import op

from hub.db.roles import grant_statements, revoke_statements

revision = "0015_roles"
down_revision = "0014_replica_commit_lsn"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in grant_statements():
        op.execute(statement)


def downgrade() -> None:
    for statement in revoke_statements():
        op.execute(statement)
