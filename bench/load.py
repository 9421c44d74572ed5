"""HTTP load on loopback, bounded in time: wrk when installed, else a lean asyncio generator.

Each run cycles through a list of request paths (so no single row or tile is hot) with a fixed
number of keep-alive connections for a fixed duration and returns requests/s and latency
percentiles. Only 127.0.0.1 is ever a target.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

WRK_SCRIPT = Path(__file__).parent / "wrk" / "paths.lua"
LOOPBACK = ("127.0.0.1", "localhost")


@dataclass
class LoadResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int  # connect/read/write/timeout errors plus non-2xx/3xx statuses
    generator: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def generator_name() -> str:
    """``wrk <version>`` when available, else the built-in generator."""
    wrk = shutil.which("wrk")
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        first = (out.stdout or out.stderr).strip().splitlines()
        return first[0].split(" [")[0] if first else "wrk"
    return "bench.load (asyncio, built in)"


def run_load(base_url: str, paths: list[str], *, connections: int, duration_s: float,
             timeout_s: float = 10.0) -> LoadResult:
    """Send GETs for ``paths`` (cycled) to ``base_url`` with ``connections`` connections."""
    host = urlsplit(base_url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"load is only ever sent to loopback, not {host}")
    if shutil.which("wrk"):
        return _run_wrk(base_url, paths, connections, duration_s, timeout_s)
    return asyncio.run(_run_builtin(base_url, paths, connections, duration_s, timeout_s))


def _run_wrk(base_url: str, paths: list[str], connections: int, duration_s: float,
             timeout_s: float) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as handle:
        handle.write("\n".join(paths) + "\n")
        paths_file = handle.name
    try:
        # One wrk thread: on a 2-core machine the generator must leave the CPUs to the system
        # under test; one thread drives 32 connections on loopback comfortably.
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration_s))}s",
               f"--timeout={int(timeout_s)}s", "-s", str(WRK_SCRIPT), base_url, "--",
               paths_file]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False,
                             timeout=duration_s + timeout_s + 30)
    finally:
        Path(paths_file).unlink(missing_ok=True)
    marker = [line for line in out.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if out.returncode != 0 or not marker:
        raise RuntimeError(f"wrk failed (exit {out.returncode}): {out.stderr or out.stdout}")
    data = json.loads(marker[-1][len("BENCH_JSON "):])
    duration = data["duration_us"] / 1e6
    lat = data["latency_us"]
    errors = sum(data["errors"].values())
    return LoadResult(
        requests=data["requests"], duration_s=duration,
        rps=data["requests"] / duration if duration else 0.0,
        p50_ms=lat["p50"] / 1000, p90_ms=lat["p90"] / 1000, p99_ms=lat["p99"] / 1000,
        mean_ms=lat["mean"] / 1000, max_ms=lat["max"] / 1000, errors=errors,
        generator="wrk",
    )


# -- built-in generator --------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response; return its status (body read per Content-Length/chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _run_builtin(base_url: str, paths: list[str], connections: int, duration_s: float,
                       timeout_s: float) -> LoadResult:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    latencies: list[float] = []
    errors = 0
    counter = 0
    deadline = time.perf_counter() + duration_s

    async def worker(offset: int) -> None:
        nonlocal errors, counter
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                path = paths[(offset + counter) % len(paths)]
                counter += 1
                request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
                started = time.perf_counter()
                try:
                    writer.write(request)
                    status = await asyncio.wait_for(_read_response(reader), timeout_s)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                latencies.append(time.perf_counter() - started)
                if status >= 400:
                    errors += 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return LoadResult(
        requests=len(latencies), duration_s=elapsed, rps=len(latencies) / elapsed,
        p50_ms=pct(50), p90_ms=pct(90), p99_ms=pct(99),
        mean_ms=sum(latencies) / len(latencies) * 1000 if latencies else 0.0,
        max_ms=latencies[-1] * 1000 if latencies else 0.0, errors=errors,
        generator="builtin",
    )
