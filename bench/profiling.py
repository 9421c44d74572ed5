"""Where the hub's time goes: py-spy (from bench/.venv) on a server under load or on a publish.

py-spy samples from outside the process (no code change, ~no overhead with --nonblocking), and
writes collapsed stacks; we summarise them as the functions with the most samples inclusive
(on the stack) and self (at the top of the stack), with the hub's own code marked.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from bench.systems import BENCH_BIN, ROOT

CHECKOUT = str(ROOT)  # frames of this checkout are shown relative to it

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
IDLE = ("select (selectors.py", "_worker (concurrent/futures", "wait (threading.py",
        "run_forever", "_run_once", "_bootstrap", "epoll", "poll (")


def py_spy() -> Path | None:
    path = BENCH_BIN / "py-spy"
    return path if path.exists() else None


def record_pid(pid: int, seconds: float, out: Path, *, gil: bool = False,
               rate: int = 100) -> subprocess.Popen[bytes]:
    """Start sampling ``pid`` for ``seconds``: every busy thread (wall time: where requests
    wait, e.g. on the database), or with ``gil`` only the thread holding the GIL (where the
    single server process spends its CPU, which is what caps its throughput). Blocking mode:
    py-spy pauses the process per sample, so stacks are consistent (non-blocking sampling
    tears them under load)."""
    spy = py_spy()
    assert spy is not None
    return subprocess.Popen(
        [str(spy), "record", "--pid", str(pid), "--duration", str(int(seconds)),
         "--rate", str(rate), "--format", "raw", "--output", str(out),
         *(["--gil"] if gil else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def record_command(cmd: list[str], out: Path, env: dict[str, str], cwd: Path,
                   rate: int = 100) -> int:
    """Run ``cmd`` under py-spy (native frames off); returns the exit code."""
    spy = py_spy()
    assert spy is not None
    process = subprocess.run(
        [str(spy), "record", "--rate", str(rate), "--format", "raw", "--output", str(out),
         "--", *cmd],
        env=env, cwd=cwd, capture_output=True, check=False)
    return process.returncode


def _package(short: str) -> str:
    """Top-level package of a shortened frame ("sqlalchemy", "hub", "stdlib", ...)."""
    match = re.search(r"\(([^()]*)\)$", short)
    path = match.group(1) if match else ""
    if "/" not in path:
        return "stdlib"
    head = path.split("/", 1)[0]
    return "stdlib" if head.startswith(("<", "concurrent", "asyncio", "json", "importlib",
                                        "encodings", "email", "http", "logging")) else head


def _short(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/lib/python3.11/", f"{CHECKOUT}/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """Top inclusive and self frames of a py-spy raw (collapsed stacks) file."""
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";") if f]
        if frames and any(f.startswith(IDLE) or any(i in f for i in IDLE) for f in frames[-1:]):
            idle += count
            continue
        total += count
        for name in set(frames[1:]):  # frame 0 is the thread/process name
            inclusive[name] += count
        if frames:
            self_time[frames[-1]] += count
            packages[_package(frames[-1])] += count

    def rows(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"frame": name, "samples": n, "percent": round(100 * n / total, 1) if total else 0}
                for name, n in counter.most_common(top)]

    ours = Counter({k: v for k, v in inclusive.items() if " (hub/" in k or " (etl/" in k})
    return {"busy_samples": total, "idle_samples": idle,
            "inclusive": rows(inclusive), "self": rows(self_time), "hub_inclusive": rows(ours),
            "self_by_package": rows(packages)}
