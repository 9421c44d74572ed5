"""Co-Creation Hub: an open-data hub for cities built on PostgreSQL/PostGIS."""

__version__ = "0.1.0"
