"""Start a real CKAN 2.11 for the integration tests: its own database, Redis and a FakeSolr.

CKAN is installed in its own virtual environment, ``.ckan-venv/`` (``make ckan-env``; never in
the hub's venv: its pinned dependencies conflict with ours). This module drives it only through
its command line, as an operator would:

1. a database ``ckan_<random>`` in the test session's throwaway PostgreSQL cluster;
2. ``redis-server`` (Debian package) on a free port, as a child process, nothing persisted;
3. :class:`tests.fakes.fake_solr.FakeSolr` in this process (Solr is not installable here);
4. ``ckan generate config`` + ``ckan config-tool`` (database, Solr, Redis, site URL, storage);
5. ``ckan db init``; a sysadmin (``ckan user add`` + ``ckan sysadmin add``) and an API token
   (``ckan user token add``);
6. ``ckan run`` on a free port, waited for until ``/api/3/action/status_show`` answers.

Set ``HUB_SKIP_CKAN=1`` to skip the tests that need it (and the Makefile's venv build).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from hub.db.cluster import LocalCluster, free_port

ROOT = Path(__file__).resolve().parents[1]
CKAN_VENV = Path(os.environ.get("HUB_CKAN_VENV", ROOT / ".ckan-venv"))
CKAN_BIN = CKAN_VENV / "bin" / "ckan"
SYSADMIN = "hubadmin"


class CkanUnavailable(RuntimeError):
    """CKAN cannot be started here; the message says why (tests skip with it)."""


def ckan_skip_reason() -> str | None:
    """Why the CKAN tests cannot run, or None when they can."""
    if os.environ.get("HUB_SKIP_CKAN"):
        return "HUB_SKIP_CKAN is set"
    if not CKAN_BIN.exists():
        return f"no CKAN in {CKAN_VENV}: run `make ckan-env`"
    if not shutil.which("redis-server"):
        return "redis-server not installed (apt-get install redis-server, or `make deps`)"
    return None


@dataclass
class CkanInstance:
    """A running CKAN: its URL, a sysadmin API token and how to stop it."""

    workdir: Path
    cluster: LocalCluster
    url: str = ""
    api_token: str = ""
    database: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _solr: object | None = None

    @property
    def ini(self) -> Path:
        return self.workdir / "ckan.ini"

    @property
    def log_file(self) -> Path:
        return self.workdir / "ckan.log"

    def ckan(self, *args: str, timeout: float = 180, config: bool = True) -> str:
        """Run ``ckan -c ckan.ini ARGS`` and return its stdout (raise with its output).

        ``config=False`` for the commands CKAN runs without loading a config (it recognises
        them only as the first arguments: ``generate config``, ``config-tool``).
        """
        prefix = ["-c", str(self.ini)] if config else []
        result = subprocess.run(
            [str(CKAN_BIN), *prefix, *args], capture_output=True, text=True,
            timeout=timeout, cwd=self.workdir, env=self._env(), check=False,
        )
        if result.returncode != 0:
            raise CkanUnavailable(
                f"`ckan {' '.join(args)}` failed (exit {result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "VIRTUAL_ENV"))}
        env["PATH"] = f"{CKAN_VENV / 'bin'}:{env.get('PATH', '')}"
        env["CKAN_INI"] = str(self.ini)
        return env

    def start(self) -> CkanInstance:
        from tests.fakes.fake_solr import FakeSolr

        t0 = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "storage").mkdir(exist_ok=True)
        self.database = f"ckan_{uuid.uuid4().hex[:10]}"
        admin = create_engine(self.cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()
        db_url = self.cluster.url(self.database).replace("postgresql+psycopg://",
                                                          "postgresql://")

        redis_port = free_port()
        self._procs.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        self._solr = solr = FakeSolr().start()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.timings["services"] = time.monotonic() - t0

        self.ckan("generate", "config", str(self.ini), config=False)
        self.ckan(
            "config-tool", str(self.ini),
            f"sqlalchemy.url={db_url}",
            f"solr_url={solr.url}",  # type: ignore[attr-defined]
            f"ckan.redis.url=redis://127.0.0.1:{redis_port}/0",
            f"ckan.site_url={self.url}",
            f"ckan.storage_path={self.workdir / 'storage'}",
            "ckan.plugins=activity",
            "ckan.auth.create_user_via_api=false",
            "ckan.activity_streams_enabled=true",
            "ckan.site_id=hubtest",
            "ckan.requests.timeout=10",
            config=False,
        )
        self.timings["config"] = time.monotonic() - t0
        self.ckan("db", "init")
        self.timings["db_init"] = time.monotonic() - t0
        self.ckan("user", "add", SYSADMIN, "email=hubadmin@example.org",
                  "password=hub-test-Passw0rd!")
        self.ckan("sysadmin", "add", SYSADMIN)
        token_out = self.ckan("user", "token", "add", SYSADMIN, "hub-tests")
        self.api_token = token_out.strip().splitlines()[-1].strip()
        self.timings["sysadmin"] = time.monotonic() - t0

        log = self.log_file.open("wb")
        self._procs.append(subprocess.Popen(
            [str(CKAN_BIN), "-c", str(self.ini), "run", "--host", "127.0.0.1", "--port",
             str(port), "--disable-reloader", "--threaded"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, env=self._env(),
        ))
        self._wait_ready(timeout_s=90)
        self.timings["ready"] = time.monotonic() - t0
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last = ""
        while time.monotonic() < deadline:
            if self._procs[-1].poll() is not None:
                raise CkanUnavailable(f"`ckan run` exited; log:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/3/action/status_show",
                                            timeout=5) as resp:
                    body = json.loads(resp.read())
                    if body.get("success"):
                        return
            except OSError as exc:
                last = str(exc)
            time.sleep(0.3)
        raise CkanUnavailable(f"CKAN did not answer within {timeout_s}s ({last}); "
                              f"log:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()
        if self._solr is not None:
            self._solr.stop()  # type: ignore[attr-defined]
            self._solr = None
        if self.database:
            admin = create_engine(self.cluster.url("postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            admin.dispose()


_shared: CkanInstance | None = None
_users = 0


@contextmanager
def shared_ckan(cluster: LocalCluster) -> Iterator[CkanInstance]:
    """One CKAN for the whole test session, however many modules use it: started by the
    first user, stopped when the last one is done (before the PostgreSQL cluster goes)."""
    global _shared, _users
    if _shared is None:
        instance = CkanInstance(workdir=Path(tempfile.mkdtemp(prefix="hub-ckan-")),
                                cluster=cluster)
        try:
            instance.start()
        except BaseException:
            instance.stop()
            raise
        _shared = instance
    _users += 1
    try:
        yield _shared
    finally:
        _users -= 1
        if _users == 0 and _shared is not None:
            _shared.stop()
            shutil.rmtree(_shared.workdir, ignore_errors=True)
            _shared = None


if __name__ == "__main__":  # pragma: no cover - manual smoke run: python -m tests.ckan_harness
    root = Path(tempfile.mkdtemp(prefix="hub-ckan-pg-", dir="/tmp"))
    root.chmod(0o755)
    cluster = LocalCluster(root=root, port=free_port(), database="postgres", fsync=False)
    cluster.start()
    instance = CkanInstance(workdir=Path(tempfile.mkdtemp(prefix="hub-ckan-")), cluster=cluster)
    try:
        instance.start()
        print(instance.url, instance.timings, file=sys.stderr)
    finally:
        instance.stop()
        cluster.destroy()
