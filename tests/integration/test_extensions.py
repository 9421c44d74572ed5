"""PostGIS and pg_trgm live in schema public, so roles other than the hub's own (read-only
users, GDAL/QGIS logins, peers like tipg) can use the geometry type and functions."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def test_extensions_are_in_public_for_other_roles(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        schemas = dict(conn.execute(text(
            "SELECT e.extname, n.nspname FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname IN ('postgis', 'pg_trgm')")).all())
        assert schemas == {"postgis": "public", "pg_trgm": "public"}
        conn.execute(text("CREATE ROLE test_reader NOLOGIN"))
        conn.execute(text("SET LOCAL ROLE test_reader"))
        assert conn.execute(text(
            "SELECT ST_AsText('SRID=4326;POINT(139.7 35.6)'::geometry)")).scalar_one() == (
            "POINT(139.7 35.6)")
        conn.execute(text("RESET ROLE"))
        conn.execute(text("DROP ROLE test_reader"))
    engine.dispose()
