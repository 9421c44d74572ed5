"""Streaming read replicas of the embedded cluster, on this machine.

A replica is a physical copy of the primary made by ``pg_basebackup -R`` (which also writes
the standby settings), living in ``<HUB_DATA_DIR>/replicas/<port>/`` and run like the
primary (as the unprivileged server user when we are root), on its own port. It streams WAL
through a replication slot named after its port, so the primary keeps the WAL a stopped
replica still needs (remove the replica to release it).

Replication needs the primary to write replica-level WAL (the embedded cluster otherwise runs
with minimal WAL, see :meth:`LocalCluster._wal_options`): the first replica turns it on and
restarts the primary once. The replica connects as a role that may only replicate,
``hub_replication``, with its own generated password, through an explicit ``pg_hba.conf``
line for loopback.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from psycopg import sql
from sqlalchemy import create_engine, text

from hub.db.cluster import SERVER_USER, ClusterError, LocalCluster, find_bindir, running_as_root

REPLICATION_ROLE = "hub_replication"
HBA_LINE = f"host replication {REPLICATION_ROLE} 127.0.0.1/32 scram-sha-256"


def replicas_dir(primary: LocalCluster) -> Path:
    return primary.root / "replicas"


def replica_cluster(primary: LocalCluster, port: int) -> LocalCluster:
    """The replica of ``primary`` on ``port`` (whether or not it exists)."""
    return LocalCluster(root=replicas_dir(primary) / str(port), port=port,
                        database=primary.database, fsync=primary.fsync)


def list_replicas(primary: LocalCluster) -> list[LocalCluster]:
    """The replicas made of ``primary``, by port."""
    folder = replicas_dir(primary)
    if not folder.is_dir():
        return []
    ports = sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    return [replica_cluster(primary, port) for port in ports]


def slot_name(port: int) -> str:
    return f"hub_replica_{port}"


def add_replica(primary: LocalCluster, port: int) -> tuple[LocalCluster, bool]:
    """Make and start a streaming replica of the running ``primary`` on ``port``; returns it
    and whether the primary had to be restarted to write replica-level WAL."""
    if not primary.is_running():
        raise ClusterError(f"the primary in {primary.root} is not running; run `hub db up`")
    replica = replica_cluster(primary, port)
    if replica.root.exists():
        raise ClusterError(f"a replica on port {port} already exists in {replica.root}")
    restarted = enable_replication(primary)
    try:
        _base_backup(primary, replica)
        replica.start()
    except BaseException:
        replica.destroy()
        _drop_slot(primary, port)
        raise
    return replica, restarted


def remove_replica(primary: LocalCluster, port: int) -> None:
    """Stop a replica, delete its files and release the WAL its slot kept on the primary."""
    replica = replica_cluster(primary, port)
    if not replica.root.exists():
        raise ClusterError(f"no replica on port {port} in {replicas_dir(primary)}")
    replica.destroy()
    if primary.is_running():
        _drop_slot(primary, port)


def enable_replication(primary: LocalCluster) -> bool:
    """Give ``primary`` what streaming needs (idempotent): the replication role, its
    ``pg_hba.conf`` line and replica-level WAL. Returns whether it was restarted for the WAL."""
    password_file = primary.root / "replication-password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(24))
        password_file.chmod(0o600)
    hba = primary.pgdata / "pg_hba.conf"
    if HBA_LINE not in hba.read_text().splitlines():
        with hba.open("a") as handle:
            handle.write(f"\n# streaming replicas of the hub (hub db replica add)\n{HBA_LINE}\n")
    engine = create_engine(primary.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                                  {"r": REPLICATION_ROLE}).first()
            verb = "ALTER" if exists else "CREATE"
            statement = sql.SQL("{} ROLE {} WITH REPLICATION LOGIN PASSWORD {}").format(
                sql.SQL(verb), sql.Identifier(REPLICATION_ROLE),
                sql.Literal(password_file.read_text().strip()))
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute(statement)
            conn.execute(text("SELECT pg_reload_conf()"))
            wal_level = conn.execute(text("SHOW wal_level")).scalar()
    finally:
        engine.dispose()
    primary.replication_marker.touch()
    if wal_level == "minimal":
        primary.stop()
        primary.start()
        return True
    return False


def _base_backup(primary: LocalCluster, replica: LocalCluster) -> None:
    """Copy the primary into the replica's data directory with ``pg_basebackup -R``, as the
    server user, authenticating through a passfile that the standby settings keep using."""
    replica.root.mkdir(parents=True)
    shutil.copy2(primary.password_file, replica.password_file)
    replica.replication_marker.touch()
    server_root = replica.pgdata.parent
    server_root.mkdir(parents=True, exist_ok=True)
    replica.socket_dir.mkdir(parents=True, exist_ok=True)
    passfile = server_root / "replication-passfile"
    password = (primary.root / "replication-password").read_text().strip()
    passfile.write_text(f"127.0.0.1:{primary.port}:*:{REPLICATION_ROLE}:{password}\n")
    passfile.chmod(0o600)
    if running_as_root():
        for path in (server_root, replica.socket_dir, passfile):
            shutil.chown(path, SERVER_USER, SERVER_USER)
    replica.run_tool(
        ["env", f"PGPASSFILE={passfile}", str(find_bindir() / "pg_basebackup"),
         "-D", str(replica.pgdata), "-R", "-X", "stream", "-C", "-S", slot_name(replica.port),
         "-h", "127.0.0.1", "-p", str(primary.port), "-U", REPLICATION_ROLE, "-w"],
        what="pg_basebackup",
    )


def _drop_slot(primary: LocalCluster, port: int) -> None:
    engine = create_engine(primary.url("postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_drop_replication_slot(slot_name) "
                              "FROM pg_replication_slots WHERE slot_name = :s"),
                         {"s": slot_name(port)})
    finally:
        engine.dispose()
