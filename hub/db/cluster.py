"""The embedded PostgreSQL + PostGIS cluster the hub starts for itself.

When ``HUB_DATABASE_URL`` is unset the hub runs its own cluster under ``HUB_DATA_DIR``
(``.hub/`` by default) from the system's PostgreSQL binaries, on its own TCP port and unix
socket directory, with a generated password kept in a 0600 file. PostgreSQL refuses to run
as root, so when we are root the server runs as the unprivileged ``postgres`` user and its
data directory is owned by that user; our own process still connects over TCP with the
password, so nothing else needs special rights.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

SERVER_USER = "postgres"
SUPERUSER = "hub"


class ClusterError(RuntimeError):
    """The embedded cluster could not be created, started or stopped; the message says why."""


def find_bindir() -> Path:
    """Locate PostgreSQL server binaries, preferring the newest Debian layout.

    Debian keeps server binaries (initdb, pg_ctl, postgres) under
    ``/usr/lib/postgresql/<major>/bin``; PostGIS is installed for that same major version.
    """
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    raise ClusterError(
        "PostgreSQL server binaries not found. Install them with "
        "`apt-get install postgresql-15 postgresql-15-postgis-3` (or run `make deps`)."
    )


def running_as_root() -> bool:
    """PostgreSQL refuses to run as root: then the server user owns and runs the cluster."""
    return _running_as_root()


def _running_as_root() -> bool:
    return os.geteuid() == 0


@dataclass(frozen=True)
class LocalCluster:
    """A private PostgreSQL cluster living in ``root`` and listening on ``port``."""

    root: Path
    port: int
    database: str = "hub"
    fsync: bool = True

    @property
    def pgdata(self) -> Path:
        return self._server_side_root() / "pgdata"

    @property
    def socket_dir(self) -> Path:
        return self._server_side_root() / "run"

    def _server_side_root(self) -> Path:
        """Where the server's own files live: ``root`` itself, unless we are root and the
        server user cannot reach ``root`` (e.g. a clone under /root, mode 700). Then they go
        to a per-cluster folder in the server user's home, named by a hash of ``root``, so a
        newcomer's checkout location never stops the demo."""
        if not _running_as_root() or _server_user_can_reach(self.root):
            return self.root
        home = Path(pwd.getpwnam(SERVER_USER).pw_dir)
        digest = hashlib.sha1(str(self.root.resolve()).encode()).hexdigest()[:12]
        return home / "hub-clusters" / digest

    @property
    def replication_marker(self) -> Path:
        """Present when this cluster streams WAL to replicas or is one (hub.db.replicas)."""
        return self.root / "replication"

    def _wal_options(self) -> list[str]:
        if self.replication_marker.exists():
            # A primary with streaming replicas, or a replica (which needs at least its
            # primary's sender and slot counts to accept hot-standby reads). Feedback keeps
            # the primary from vacuuming rows a replica's running read still sees.
            return ["-c wal_level=replica", "-c max_wal_senders=10",
                    "-c max_replication_slots=10", "-c hot_standby=on",
                    "-c hot_standby_feedback=on"]
        # A single embedded server with no replicas and no WAL archive: minimal WAL lets a
        # publish's COPY into (and indexes on) a table created in its own transaction skip
        # the WAL, as they are flushed at commit anyway (1M-row COPY ~12 -> ~9.5 s).
        return ["-c wal_level=minimal", "-c max_wal_senders=0"]

    @property
    def log_file(self) -> Path:
        return self._server_side_root() / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    def login_password_file(self, role: str) -> Path:
        """Where the generated password of ``role``'s login is kept (0600)."""
        return self.root / f"password-{role}"

    def url(self, database: str | None = None, role: str = SUPERUSER) -> str:
        """SQLAlchemy URL of this cluster (psycopg 3 driver, TCP on loopback), as the
        superuser or as a role given a login by :meth:`enable_logins`."""
        source = self.password_file if role == SUPERUSER else self.login_password_file(role)
        if not source.exists():
            raise ClusterError(f"the embedded cluster in {self.root} has no login for "
                               f"'{role}' yet; run `hub db up`")
        password = quote(source.read_text().strip(), safe="")
        return (
            f"postgresql+psycopg://{role}:{password}@127.0.0.1:{self.port}/"
            f"{database or self.database}"
        )

    def enable_logins(self, roles: tuple[str, ...]) -> None:
        """Let ``roles`` (created by the migrations) log in with a generated password each,
        kept beside the superuser's; idempotent (an existing password is kept)."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for role in roles:
                    path = self.login_password_file(role)
                    if not path.exists():
                        path.write_text(secrets.token_urlsafe(24))
                        path.chmod(0o600)
                    # ALTER ROLE takes no bind parameters; the password is our own token
                    # (URL-safe alphabet), so quoting it as a literal is exact.
                    conn.execute(text(f"ALTER ROLE \"{role}\" LOGIN PASSWORD "
                                      f"'{path.read_text().strip()}'"))
        finally:
            engine.dispose()

    # -- lifecycle -----------------------------------------------------------------------

    def is_initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        result = self._pg_ctl("status", check=False)
        return result.returncode == 0

    def init(self) -> None:
        """Create the cluster (initdb) with a random superuser password; idempotent."""
        if self.is_initialised():
            return
        bindir = find_bindir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if _running_as_root() and self.pgdata.parent != self.root:
            for folder in (self.pgdata.parent.parent, self.pgdata.parent):
                shutil.chown(folder, SERVER_USER, SERVER_USER)
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24))
            self.password_file.chmod(0o600)
        pwfile = self.pgdata.parent / "initdb-pwfile"
        pwfile.write_text(self.password_file.read_text())
        if _running_as_root():
            self._hand_to_server_user([self.pgdata, self.socket_dir, pwfile])
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D", str(self.pgdata),
                    "-U", SUPERUSER,
                    "--auth-local=scram-sha-256",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E", "UTF8",
                    # Character classes from C.UTF-8: pg_trgm, ILIKE and lower() must know
                    # kana and kanji as letters. Ordering by bytes ("C"), which for UTF-8 is
                    # the code point order C.UTF-8 collates by, so every ORDER BY answers
                    # the same; PostgreSQL compares "C" text with memcmp instead of strcoll
                    # (a 1M-row unique B-tree on text ids: 0.84 -> 0.38 s).
                    "--locale=C.UTF-8",
                    "--lc-collate=C",
                ],
                what="initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the server if it is not running and wait until it accepts connections."""
        self.init()
        if self.is_running():
            return
        if _port_in_use(self.port):
            raise ClusterError(
                f"port {self.port} is already in use by another program; "
                "set HUB_DB_PORT to a free port"
            )
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c port={self.port}",
            f"-c unix_socket_directories={self.socket_dir}",
            "-c max_connections=200",
            "-c shared_buffers=256MB",
            "-c work_mem=32MB",
            "-c maintenance_work_mem=256MB",
            "-c jit=off",
            *self._wal_options(),
        ]
        if not self.fsync:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        if _running_as_root() and not self.log_file.exists():
            self.log_file.touch()
            shutil.chown(self.log_file, SERVER_USER)
        self._pg_ctl("start", "-w", "-t", str(int(timeout_s)), "-l", str(self.log_file),
                     "-o", " ".join(options))
        deadline = time.monotonic() + timeout_s
        while not _port_in_use(self.port):
            if time.monotonic() > deadline:
                raise ClusterError(f"server did not open port {self.port}; see {self.log_file}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (fast shutdown); a no-op when it is not running."""
        if self.is_running():
            self._pg_ctl("stop", "-m", "fast", "-w")

    def destroy(self) -> None:
        """Stop and delete the cluster's files (tests use this for their throwaway clusters)."""
        self.stop()
        if self.pgdata.parent != self.root:
            shutil.rmtree(self.pgdata.parent, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    def run_tool(self, cmd: list[str], what: str) -> None:
        """Run a PostgreSQL tool as the server would run (the server user when we are root),
        e.g. pg_basebackup writing a replica's data directory; raises :class:`ClusterError`."""
        self._run(cmd, what=what)

    # -- helpers -------------------------------------------------------------------------

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(find_bindir() / "pg_ctl"), "-D", str(self.pgdata), *args]
        return self._run(cmd, what=f"pg_ctl {args[0]}", check=check)

    def _run(
        self, cmd: list[str], what: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        if _running_as_root():
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd="/")
        if check and result.returncode != 0:
            raise ClusterError(
                f"{what} failed (exit {result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}"
                + (f"\nserver log: {self.log_file}" if self.log_file.exists() else "")
            )
        return result

    def _hand_to_server_user(self, paths: list[Path]) -> None:
        """Give the server user its directories, and check it can reach them at all."""
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError as exc:
            raise ClusterError(
                f"running as root needs an unprivileged '{SERVER_USER}' user to run PostgreSQL; "
                "it is created by the postgresql package"
            ) from exc
        for path in paths:
            shutil.chown(path, SERVER_USER, SERVER_USER)
        probe = subprocess.run(
            ["runuser", "-u", SERVER_USER, "--", "test", "-w", str(self.pgdata)],
            check=False,
        )
        if probe.returncode != 0:
            raise ClusterError(
                f"user '{SERVER_USER}' cannot reach {self.pgdata}: every parent directory must "
                "be searchable by it (chmod o+x), or set HUB_DATA_DIR to a directory it can reach"
            )


@functools.cache
def _server_user_can_reach(path: Path) -> bool:
    """Can the server user create files in ``path`` (or its nearest existing parent)?"""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    result = subprocess.run(
        ["runuser", "-u", SERVER_USER, "--", "test", "-x", str(probe)], check=False
    )
    return result.returncode == 0


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A TCP port nobody listens on right now (for throwaway test clusters)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
