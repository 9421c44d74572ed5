"""Audit the installed Python dependencies for known vulnerabilities (pip-audit).

``make test`` runs this after ruff; ``.ci/run`` sets ``HUB_AUDIT_REQUIRED=1``. A known
vulnerability fails the run unless ``security/audit-allowlist.toml`` lists its id with a
reason. When the vulnerability service cannot be reached (no network), nothing was checked:
that is said plainly, and it fails the run when ``HUB_AUDIT_REQUIRED=1`` (CI must not pass
unchecked), and only warns in a local run (a laptop offline can still run the tests).

Exit codes: 0 clean (or unchecked in a local run), 1 vulnerable or unchecked in CI, 2 the
allowlist is malformed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ALLOWLIST = Path(__file__).with_name("audit-allowlist.toml")
# Share of dependencies pip-audit may skip before the run counts as unchecked: a few are
# never on PyPI (the hub itself, local builds); all of them means the service was unreachable.
UNCHECKED_SHARE = 0.5


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    lines: tuple[str, ...]


def load_allowlist(path: Path) -> dict[str, str]:
    """Vulnerability id -> reason. Every entry needs an ``id`` and a non-empty ``reason``."""
    if not path.exists():
        return {}
    entries = tomllib.loads(path.read_text()).get("allow", [])
    allowed: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        reason = str(entry.get("reason", "")).strip()
        if not entry.get("id") or not reason:
            raise ValueError(f"{path.name}: entry {number} needs an 'id' and a 'reason'")
        allowed[str(entry["id"])] = reason
    return allowed


def judge(report: dict, allowed: dict[str, str], required: bool) -> Verdict:
    """The verdict on pip-audit's JSON report (``pip-audit -f json``)."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    if not dependencies or len(skipped) > UNCHECKED_SHARE * len(dependencies):
        why = skipped[0]["skip_reason"] if skipped else "no dependencies were listed"
        head = (f"dependency audit NOT DONE: the vulnerability service could not be reached "
                f"({len(skipped)} of {len(dependencies)} dependencies unchecked; e.g. {why})")
        if required:
            return Verdict(1, (head, "failing: HUB_AUDIT_REQUIRED=1 (CI) needs a checked run"))
        return Verdict(0, (f"warning: {head}", "a local run goes on; CI fails here"))
    lines: list[str] = []
    failures = 0
    for dependency in dependencies:
        for vuln in dependency.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            name = f"{dependency['name']} {dependency.get('version', '')}".strip()
            reason = next((allowed[i] for i in ids if i in allowed), None)
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            if reason is None:
                failures += 1
                lines.append(f"VULNERABLE {name}: {' / '.join(ids)} (fixed in {fixed})")
            else:
                lines.append(f"allowed {name}: {vuln['id']} ({reason})")
    checked = len(dependencies) - len(skipped)
    lines.append(f"dependency audit: {checked} checked, {len(skipped)} skipped, "
                 f"{failures} vulnerable without an allowlist entry")
    return Verdict(1 if failures else 0, tuple(lines))


def run_pip_audit() -> dict:
    """pip-audit over this environment's installed distributions (the hub itself, installed
    editable, is skipped). A crash (e.g. no network at all) reads as nothing checked."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("pip-audit")), "--local", "--skip-editable",
         "--format", "json", "--progress-spinner", "off"],
        capture_output=True, text=True, check=False)
    try:
        return json.loads(result.stdout)
    except ValueError:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return {"dependencies": [], "error": last}


def main() -> int:
    try:
        allowed = load_allowlist(ALLOWLIST)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verdict = judge(run_pip_audit(), allowed, os.environ.get("HUB_AUDIT_REQUIRED") == "1")
    for line in verdict.lines:
        print(line, file=sys.stderr if verdict.exit_code else sys.stdout)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main())
