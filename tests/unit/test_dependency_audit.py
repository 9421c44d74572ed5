"""The dependency audit's verdict (security/audit.py) on pip-audit's JSON report: a known
vulnerability fails unless allowed with a reason; an unreachable service is said plainly and
fails only where a checked run is required (CI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "security" / "audit.py"


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hub_dependency_audit", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


VULNERABLE = {"dependencies": [
    {"name": "jinja2", "version": "3.1.2", "vulns": [
        {"id": "GHSA-h5c8-rqwp-cp95", "aliases": ["CVE-2024-22195"], "fix_versions": ["3.1.3"]}]},
    {"name": "fastapi", "version": "0.115.0", "vulns": []},
    {"name": "cocreation-hub", "skip_reason": "not on PyPI"},
]}
OFFLINE = {"dependencies": [
    {"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: {n}"}
    for n in ("fastapi", "jinja2", "psycopg")]}


def test_a_known_vulnerability_fails_the_run(audit: ModuleType) -> None:
    verdict = audit.judge(VULNERABLE, {}, required=False)
    assert verdict.exit_code == 1
    assert any("VULNERABLE jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 / CVE-2024-22195" in line
               and "3.1.3" in line for line in verdict.lines)


def test_an_allowlisted_vulnerability_passes_with_its_reason(audit: ModuleType) -> None:
    verdict = audit.judge(VULNERABLE, {"CVE-2024-22195": "sandbox not used"}, required=True)
    assert verdict.exit_code == 0
    assert any("allowed jinja2" in line and "sandbox not used" in line
               for line in verdict.lines)


@pytest.mark.parametrize(("required", "exit_code"), [(False, 0), (True, 1)])
def test_an_unreachable_service_is_said_and_fails_only_where_required(
        audit: ModuleType, required: bool, exit_code: int) -> None:
    verdict = audit.judge(OFFLINE, {}, required=required)
    assert verdict.exit_code == exit_code
    assert "could not be reached" in verdict.lines[0] and "3 of 3" in verdict.lines[0]


def test_an_allowlist_entry_without_a_reason_is_refused(audit: ModuleType,
                                                       tmp_path: Path) -> None:
    allowlist = tmp_path / "allow.toml"
    allowlist.write_text('[[allow]]\nid = "GHSA-x"\npackage = "x"\n')
    with pytest.raises(ValueError, match="needs an 'id' and a 'reason'"):
        audit.load_allowlist(allowlist)
    assert audit.load_allowlist(SCRIPT.with_name("audit-allowlist.toml")) == {}
