"""Schemathesis against a live hub: the OpenAPI documents (v1 and OGC) and the API agree.

The CLI runs in a subprocess over HTTP against a real hub holding the test shops and demo
datasets, with every check on (schema conformance both ways, status codes, content types,
headers, authentication) and its phases (examples, coverage, fuzzing, stateful following
the documents' links), for a bounded time. Any failure fails the test and prints
schemathesis's report, with a ``curl`` line to reproduce each case.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.data.people import People
from hub.people.scopes import Scope
from tests.conftest import FIXTURES
from tests.e2e.live_hub import LiveHub, running_hub
from tests.people_hub import issue_key

pytestmark = pytest.mark.slow

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# Budgets in seconds per document: about a minute and a half together on two shared cores,
# the whole test (hub start and catalogue included) about two and a half minutes. One
# worker: Python 3.11 before 3.11.8 can fail parsing source in two threads at once
# ("AST constructor recursion depth mismatch"), which Hypothesis does to describe filters.
BUDGETS = {"/openapi.json": 60, "/ogc/api": 25}
# Checks that cannot hold for this API by design, each with its reason (docs/security.md):
# none so far.
EXCLUDED_CHECKS: tuple[str, ...] = ()


HOOKS = "tests.e2e.schemathesis_hooks"
CONFIG = Path(__file__).with_name("schemathesis.toml")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FuzzKeys:
    admin_token: str = field(repr=False)
    admin_id: int
    spare_id: int  # revoked instead of the admin key (schemathesis_hooks.py)


# Where the fuzzer's own key is numbered: far from the small ids and the range's ends that
# generators draw, so a revocation the fuzzer invents (DELETE /v1/keys/1, the schema's
# minimum) never locks it out of the rest of the run. Any number of that kind would do.
ADMIN_KEY_ID = 5_741_893_251_067_392_117


def definitions_of_every_dataset(folder: Path) -> tuple[Path, Path]:
    """Dataset and schema folders holding both the test shops and the demo datasets the hub
    serves, as a real hub's folders hold every dataset it publishes (the write operations
    read the definition of the dataset they publish into)."""
    datasets, schemas = folder / "datasets", folder / "schemas"
    for target, sources in ((datasets, [FIXTURES / "datasets", ROOT / "datasets"]),
                            (schemas, [FIXTURES / "schemas", ROOT / "schemas"])):
        target.mkdir()
        for source in sources:
            for entry in source.iterdir():
                if not (target / entry.name).exists():
                    (target / entry.name).symlink_to(entry)
    return datasets, schemas


@pytest.fixture(scope="module")
def live(pg_cluster, tmp_path_factory) -> Iterator[LiveHub]:
    datasets, schemas = definitions_of_every_dataset(tmp_path_factory.mktemp("definitions"))
    # The fuzzer sends thousands of requests a minute: no quota, or it would test the 429.
    # Its webhook subscriptions point at a closed local port (schemathesis_hooks.py). The
    # server runs as the production roles, so a grant missing for any operation is a 500.
    with running_hub(pg_cluster, tmp_path_factory.mktemp("fuzz-hub"), least_privilege=True,
                     datasets_dir=datasets, schemas_dir=schemas,
                     rate_limit_anonymous=0, rate_limit_key=0,
                     self_service_keys_per_hour=1_000_000,
                     webhooks_allow_private_targets="127.0.0.0/8") as hub:
        yield hub


@pytest.fixture(scope="module")
def keys(live: LiveHub) -> FuzzKeys:
    """An admin key from the keys store, so the write operations are fuzzed past the 401
    (numbered ADMIN_KEY_ID), and a spare key revoked in its place should the fuzzer ever
    name it."""
    engine = create_engine(live.database_url)
    try:
        people = People(engine)
        tokens, ids = [], []
        for name in ("spare", "fuzzer"):
            if name == "fuzzer":
                with engine.begin() as conn:
                    conn.execute(text("SELECT setval(pg_get_serial_sequence('hub.api_keys', "
                                      "'id'), :id, false)"), {"id": ADMIN_KEY_ID})
            key_id, token = issue_key(people, name, Scope.ADMIN)
            tokens.append(token)
            ids.append(key_id)
    finally:
        engine.dispose()
    assert ids[1] == ADMIN_KEY_ID
    return FuzzKeys(tokens[1], ids[1], ids[0])


def schemathesis_command(url: str, document: str, report: Path) -> list[str]:
    command = [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{url}{document}",
               "--checks", "all", "--max-time", str(BUDGETS[document]), "--workers", "1",
               "--seed", "1", "--no-color", "--report", "json,ndjson",
               "--report-json-path", str(report),
               "--report-ndjson-path", str(report.with_suffix(".ndjson")),
               "--generation-database", "none"]
    if document == "/ogc/api":
        command += ["--url", f"{url}/ogc"]
    if EXCLUDED_CHECKS:
        command += ["--exclude-checks", ",".join(EXCLUDED_CHECKS)]
    return command


@pytest.mark.parametrize("document", list(BUDGETS))
def test_schemathesis_finds_no_failure(live: LiveHub, keys: FuzzKeys, document: str,
                                       tmp_path: Path) -> None:
    if not SCHEMATHESIS.exists():
        pytest.fail(f"{SCHEMATHESIS} is missing: `make venv` installs the test extra")
    report = tmp_path / "report.json"
    command = schemathesis_command(live.url, document, report)
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS,
                   "HUB_FUZZ_TOKEN": keys.admin_token, "HUB_FUZZ_ADMIN_KEY": str(keys.admin_id),
                   "HUB_FUZZ_SPARE_KEY": str(keys.spare_id),
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                               os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            cwd=tmp_path, env=environment)
    print(f"schemathesis over {document}: {summary(result.stdout)}")
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]


def summary(output: str) -> str:
    """Cases generated, operations tested, and those the run reached past a 404 or 401 (its
    warnings name the operations that never got further)."""
    def number(pattern: str) -> int:
        found = re.search(pattern, output)
        return int(found.group(1)) if found else 0

    cases = number(r"(\d+) generated")
    tested = number(r"Tested: (\d+)")
    missing = number(r"Missing test data: (\d+) operations?")
    locked = number(r"Authentication failed: (\d+) operations?")
    failures = number(r"(\d+) found")
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", output)
    followed = f", {links.group(1)} of {links.group(2)} links followed" if links else ""
    return (f"{cases} cases, {tested} operations tested, {tested - missing - locked} reached "
            f"past 404/401 ({missing} only 404, {locked} only 401/403){followed}, "
            f"{failures} failures")
