"""Schemathesis against a live hub: the OpenAPI documents (v1 and OGC) and the API agree.

The CLI runs in a subprocess over HTTP against a real hub holding the test shops and demo
datasets, with every check on (schema conformance both ways, status codes, content types,
headers, authentication) and its phases (examples, coverage, fuzzing, stateful following
the documents' links), for a bounded time. Any failure fails the test and prints
schemathesis's report, with a ``curl`` line to reproduce each case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from hub.data.people import People
from hub.people.audit import AuditEntry
from hub.people.keys import NewKey
from hub.people.scopes import KeyKind, Scope
from tests.e2e.live_hub import LiveHub, running_hub

pytestmark = pytest.mark.slow

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Budgets in seconds per document: about a minute and a half together on two shared cores.
BUDGETS = {"/openapi.json": 60, "/ogc/api": 25}
# Checks that cannot hold for this API by design, each with its reason (docs/security.md):
# none so far.
EXCLUDED_CHECKS: tuple[str, ...] = ()


HOOKS = "tests.e2e.schemathesis_hooks"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> Iterator[LiveHub]:
    # The fuzzer sends thousands of requests a minute: no quota, or it would test the 429.
    with running_hub(pg_cluster, tmp_path_factory.mktemp("fuzz-hub"),
                     rate_limit_anonymous=0, rate_limit_key=0) as hub:
        yield hub


@pytest.fixture(scope="module")
def admin_token(live: LiveHub) -> str:
    """An admin key from the keys store, so the write operations are fuzzed past the 401."""
    engine = create_engine(live.database_url)
    try:
        new = NewKey(name="fuzzer", kind=KeyKind.STAFF, scopes=frozenset({Scope.ADMIN}),
                     created_by="test")
        _row, token = People(engine).issue(
            new, lambda r: AuditEntry.by_operator("key.create", "key", str(r["id"])))
    finally:
        engine.dispose()
    return token


def schemathesis_command(url: str, document: str, report: Path, token: str) -> list[str]:
    command = [str(SCHEMATHESIS), "run", f"{url}{document}", "--checks", "all",
               "--max-time", str(BUDGETS[document]), "--workers", "2", "--seed", "1",
               "--no-color", "--report", "json", "--report-json-path", str(report),
               "--generation-database", "none", "-H", f"Authorization: Bearer {token}"]
    if document == "/ogc/api":
        command += ["--url", f"{url}/ogc"]
    if EXCLUDED_CHECKS:
        command += ["--exclude-checks", ",".join(EXCLUDED_CHECKS)]
    return command


@pytest.mark.parametrize("document", list(BUDGETS))
def test_schemathesis_finds_no_failure(live: LiveHub, admin_token: str, document: str,
                                       tmp_path: Path) -> None:
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} is missing: `make venv` installs the test extra")
    report = tmp_path / "report.json"
    command = schemathesis_command(live.url, document, report, admin_token)
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS,
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                               os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            cwd=tmp_path, env=environment)
    summary = _summary(report)
    print(f"schemathesis over {document}: {summary}")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]


def _summary(report: Path) -> str:
    if not report.exists():
        return "no report"
    data = json.loads(report.read_text())
    return json.dumps({k: v for k, v in data.items() if not isinstance(v, (list, dict))})[:500]
