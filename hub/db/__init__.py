"""Database access: the embedded cluster, the engine, catalogue tables and migrations."""
