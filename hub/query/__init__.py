"""Query model and builders. Builders return SQLAlchemy statements; they never execute."""
