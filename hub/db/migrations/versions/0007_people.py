"""People on the hub: API keys (stored hashed, scoped, expiring, revocable) and the audit log.

``hub.api_keys`` holds one row per key; the secret itself is never stored, only its SHA-256
(``hub.people.tokens`` says why a fast hash is right for random tokens) and a short prefix
people can recognise in listings. ``hub.audit_log`` records every write; a trigger refuses
UPDATE, DELETE and TRUNCATE, so the log is append-only for every role that is not a
superuser disabling triggers on purpose.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False),
        sa.Column("datasets", ARRAY(sa.Text)),
        sa.Column("token_sha256", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("token_prefix", sa.Text, nullable=False),
        sa.Column("rate_limit", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_by", sa.Text),
        sa.Column("revoked_reason", sa.Text),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("kind IN ('staff', 'self')", name="api_key_kind"),
        sa.CheckConstraint("cardinality(scopes) > 0", name="api_key_has_scope"),
        sa.CheckConstraint("rate_limit IS NULL OR rate_limit >= 0", name="api_key_rate_limit"),
        schema="hub",
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("key_id", sa.BigInteger),
        sa.Column("key_name", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("object_type", sa.Text, nullable=False),
        sa.Column("object_id", sa.Text, nullable=False),
        sa.Column("client_address", sa.Text),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("detail", JSONB, nullable=False, server_default="{}"),
        schema="hub",
    )
    op.create_index("audit_log_at", "audit_log", ["at"], schema="hub")
    op.create_index("audit_log_key", "audit_log", ["key_id", "id"], schema="hub")
    op.create_index("audit_log_object", "audit_log", ["object_type", "object_id", "id"],
                    schema="hub")
    op.execute("""
        CREATE FUNCTION hub.audit_log_is_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'hub.audit_log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
    """)
    op.execute("""
        CREATE TRIGGER audit_log_no_update_delete
        BEFORE UPDATE OR DELETE ON hub.audit_log
        FOR EACH ROW EXECUTE FUNCTION hub.audit_log_is_append_only()
    """)
    op.execute("""
        CREATE TRIGGER audit_log_no_truncate
        BEFORE TRUNCATE ON hub.audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION hub.audit_log_is_append_only()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_no_truncate ON hub.audit_log")
    op.execute("DROP TRIGGER audit_log_no_update_delete ON hub.audit_log")
    op.execute("DROP FUNCTION hub.audit_log_is_append_only()")
    op.drop_table("audit_log", schema="hub")
    op.drop_table("api_keys", schema="hub")
