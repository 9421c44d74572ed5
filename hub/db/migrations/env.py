"""Alembic environment: online migrations only, version table in schema ``hub``."""

from alembic import context
from sqlalchemy import create_engine, text

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        connection.execute(text("CREATE SCHEMA IF NOT EXISTS hub"))
        connection.commit()
        context.configure(
            connection=connection,
            version_table_schema="hub",
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
