"""The database roles the hub runs as, and what each may do.

Three roles, so a flaw in the HTTP surface cannot reach further than the API needs:

- the **migration** role (the schema owner; ``HUB_MIGRATE_DATABASE_URL``) runs Alembic;
- ``hub_publish`` (``HUB_PUBLISH_DATABASE_URL``) creates version tables in ``data`` and
  writes every catalogue table: ``hub publish``, HTTP publish and withdraw, contributions
  published into a version, bulk files, CKAN push, search refolds;
- ``hub_api`` (``HUB_DATABASE_URL``) reads everything and writes only the tables of people,
  co-creation, usage counts, webhooks and the audit log (:data:`API_WRITABLE_TABLES`); it
  cannot create, drop or alter a table, nor write a version table or the catalogue.

The grants live in the migration that creates the roles; the embedded cluster gives both a
login of its own (:func:`hub.db.cluster.LocalCluster.enable_logins`).
"""

from __future__ import annotations

from enum import StrEnum

API_ROLE = "hub_api"
PUBLISH_ROLE = "hub_publish"

# Catalogue-schema tables the API writes; every other table of the schema it only reads.
# tests/integration/test_least_privilege.py fails when a table is in neither list.
API_WRITABLE_TABLES = (
    "api_keys", "audit_log",
    "requests", "request_events", "request_votes", "request_followers", "request_comments",
    "showcases", "showcase_datasets", "reports", "item_moderation", "contributions",
    "usage_daily", "usage_clients", "usage_client_counts", "usage_salts",
    "webhook_endpoints", "webhook_events", "webhook_deliveries",
    "portal_sessions",  # the portal's signed-in sessions
    "http_cache_purges",  # each server's purger deletes a purge once a cache confirmed it
)
API_READ_ONLY_TABLES = ("datasets", "versions", "changes", "ckan_sync", "alembic_version")


class Role(StrEnum):
    """Which connection a piece of the hub asks for (:func:`hub.db.engine.database_url`)."""

    API = "api"
    PUBLISH = "publish"
    MIGRATE = "migrate"


def grant_statements(catalog_schema: str = "hub", data_schema: str = "data") -> list[str]:
    """SQL that creates the two roles when missing and grants what each may do; idempotent.

    The migration role must be a superuser, or hold CREATEROLE (then it makes itself a
    member of ``hub_publish`` to hand it the existing version tables and set its default
    privileges)."""
    writable = ", ".join(f"{catalog_schema}.{t}" for t in API_WRITABLE_TABLES)
    both = f"{API_ROLE}, {PUBLISH_ROLE}"
    return [
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{API_ROLE}') THEN
                CREATE ROLE {API_ROLE} NOLOGIN;
            END IF;
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PUBLISH_ROLE}') THEN
                CREATE ROLE {PUBLISH_ROLE} NOLOGIN;
            END IF;
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT {PUBLISH_ROLE} TO %I', current_user);
            END IF;
        END $$""",
        # Nobody but the owner creates in the catalogue schema; only publishing in data.
        f"REVOKE CREATE ON SCHEMA {catalog_schema}, {data_schema} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {catalog_schema}, {data_schema} TO {both}",
        f"GRANT CREATE ON SCHEMA {data_schema} TO {PUBLISH_ROLE}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {catalog_schema}, {data_schema} TO {both}",
        f"GRANT INSERT, UPDATE, DELETE ON {writable} TO {API_ROLE}",
        f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {catalog_schema} "
        f"TO {PUBLISH_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {catalog_schema} TO {both}",
        # Tables made later: by migrations (the owner) and by publishes (hub_publish).
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {catalog_schema} GRANT SELECT ON TABLES TO {both}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {catalog_schema} GRANT INSERT, UPDATE, DELETE "
        f"ON TABLES TO {PUBLISH_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {catalog_schema} GRANT USAGE, SELECT ON "
        f"SEQUENCES TO {both}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {data_schema} GRANT SELECT ON TABLES TO {both}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {PUBLISH_ROLE} IN SCHEMA {data_schema} "
        f"GRANT SELECT ON TABLES TO {API_ROLE}",
        # Version tables published before the roles existed: hub_publish takes them over,
        # so its garbage collection and refolds may drop and rewrite them.
        f"""DO $$ DECLARE t record; BEGIN
            FOR t IN SELECT tablename FROM pg_tables
                     WHERE schemaname = '{data_schema}' AND tableowner = current_user LOOP
                EXECUTE format('ALTER TABLE {data_schema}.%I OWNER TO {PUBLISH_ROLE}',
                               t.tablename);
            END LOOP;
        END $$""",
    ]


def revoke_statements(catalog_schema: str = "hub", data_schema: str = "data") -> list[str]:
    """The grants taken back (the roles stay: they belong to the whole cluster)."""
    both = f"{API_ROLE}, {PUBLISH_ROLE}"
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {catalog_schema}, {data_schema} FROM {both}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {catalog_schema} FROM {both}",
        f"REVOKE ALL ON SCHEMA {catalog_schema}, {data_schema} FROM {both}",
    ]
