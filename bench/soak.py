"""A soak: one hub process under a steady mix of reads, downloads and co-creation writes for
minutes on end, to show that nothing leaks and nothing fails: errors, p50/p99 per kind of
request, and the server's memory (RSS) sampled through the run, flat from start to end.

    .venv/bin/python -m bench.soak                          # 10 minutes, 100,000 rows, c=8
    .venv/bin/python -m bench.soak --minutes 2 --rows 20000  # a quicker look

Reuses bench/run.py's machinery (throwaway cluster, `hub publish`, sampled bbox and by-id
inputs) and bench/systems.py's hub process (uvicorn, as `hub serve` runs it). The clients
are threads in this process, each looping over the mix as fast as the hub answers (the
benchmark's closed-loop throughput at that concurrency): 70% record reads (bbox, by id),
10% downloads (a 64 KiB range of the CSV, so the file path is exercised without the client
becoming the bottleneck), 20% co-creation writes with contributor keys (file a request,
vote, comment; each key files at most the 10 open requests the hub allows it). An error is
any answer other than 2xx (a repeated vote is 200) or a transport failure. Prints a table
and writes bench/results/soak-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine

from bench import ingest, systems
from bench.generate import dataset_files
from bench.run import DATA, RESULTS, Cluster, log, sample_inputs
from hub.data.people import People
from hub.people.audit import AuditEntry
from hub.people.keys import NewKey
from hub.people.scopes import KeyKind, Scope

MIX = (("read", 0.70), ("download", 0.10), ("write", 0.20))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def contributor_keys(url: str, n: int) -> list[str]:
    engine = create_engine(url)
    people = People(engine)
    tokens = []
    for i in range(n):
        _row, token = people.issue(
            NewKey(name=f"soak {i}", kind=KeyKind.STAFF, scopes=frozenset({Scope.CONTRIBUTE}),
                   created_by="bench"),
            lambda r: AuditEntry.by_operator("key.create", "key", str(r["id"])))
        tokens.append(token)
    engine.dispose()
    return tokens


class Soak:
    """The clients and what they saw."""

    def __init__(self, base: str, reads: list[str], download: str, tokens: list[str],
                 seed: int) -> None:
        self.base = base
        self.reads = reads
        self.download = download
        self.tokens = tokens
        self.seed = seed
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []
        self.request_ids: list[int] = []
        self.filed: dict[str, int] = defaultdict(int)  # open requests per key
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def client(self, number: int) -> None:
        rng = random.Random(self.seed + number)
        token = self.tokens[number % len(self.tokens)]
        auth = {"Authorization": f"Bearer {token}"}
        kinds, weights = zip(*MIX, strict=True)
        with httpx.Client(base_url=self.base, timeout=60) as http:
            while not self.stop.is_set():
                kind = rng.choices(kinds, weights)[0]
                started = time.perf_counter()
                try:
                    response = self._one(http, kind, rng, auth)
                    ok = response.status_code < 300
                    detail = f"{kind} {response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, detail = False, f"{kind} {type(exc).__name__}: {exc}"
                elapsed = (time.perf_counter() - started) * 1000
                with self.lock:
                    self.latencies[kind].append(elapsed)
                    if not ok:
                        self.errors[kind] += 1
                        if len(self.error_samples) < 20:
                            self.error_samples.append(detail)

    def _one(self, http: httpx.Client, kind: str, rng: random.Random,
             auth: dict[str, str]) -> httpx.Response:
        if kind == "read":
            return http.get(rng.choice(self.reads))
        if kind == "download":
            return http.get(self.download, headers={"Range": "bytes=0-65535"})
        with self.lock:
            known = list(self.request_ids[-200:])
        action = rng.random()
        # The hub lets a key hold at most 10 requests waiting for staff (a 429 past that,
        # a rule and not an error): each client files up to that many.
        token = auth["Authorization"]
        if (not known or action < 0.25) and self.filed[token] < 10:
            response = http.post("/v1/requests", headers=auth, json={
                "title": f"ベンチの依頼 {rng.randrange(10**9)}",
                "description": "長時間の負荷試験で出す依頼", "purpose": "soak"})
            if response.status_code == 201:
                with self.lock:
                    self.request_ids.append(response.json()["id"])
                    self.filed[token] += 1
            return response
        if not known:
            return http.get("/v1/requests")
        target = rng.choice(known)
        if action < 0.75:
            return http.post(f"/v1/requests/{target}/votes", headers=auth)
        return http.post(f"/v1/requests/{target}/comments", headers=auth,
                         json={"text": f"コメント {rng.randrange(10**6)}"})


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before RSS start")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    started = dt.datetime.now(dt.UTC)
    result: dict[str, Any] = {
        "started": started.isoformat(), "rows": args.rows, "minutes": args.minutes,
        "concurrency": args.concurrency, "cpus": os.cpu_count(),
        "command": "python -m bench.soak " + " ".join(argv or []),
        "load_before": round(os.getloadavg()[0], 2), "mix": dict(MIX),
    }
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-soak-"))
    with Cluster(keep=False) as cluster:
        url = cluster.database("soak")
        utf8, _ = dataset_files(args.rows, args.seed, DATA)
        log(f"publishing {args.rows} rows")
        ingest.hub_publish(url, utf8)
        db = cluster.grant_reader(url)
        sample = sample_inputs(url, args.samples, args.seed)
        reads = (systems.paths("hub", "bbox", sample) or []) + (
            systems.paths("hub", "by_id", sample) or [])
        tokens = contributor_keys(url, args.concurrency)
        env = {**ingest.hub_env(url, workdir / "artifacts"), "HUB_RATE_LIMIT_KEY": "0"}
        server = systems.start_hub(db, workdir, env)
        download = f"/v1/datasets/{systems.DATASET_ID}/versions/1/download.csv"
        systems.check(server, download, timeout_s=600)  # build the bulk files once
        soak = Soak(server.base_url, reads, download, tokens, args.seed)
        threads = [threading.Thread(target=soak.client, args=(n,), daemon=True)
                   for n in range(args.concurrency)]
        rss: list[tuple[float, int]] = []
        try:
            for thread in threads:
                thread.start()
            time.sleep(args.warmup)
            with soak.lock:  # the warm-up's figures are not the soak's
                soak.latencies.clear()
                soak.errors.clear()
            begin = time.monotonic()
            end = begin + args.minutes * 60
            while time.monotonic() < end:
                rss.append((round(time.monotonic() - begin, 1), rss_kib(server.pid)))
                log(f"{rss[-1][0]:7.0f} s  server RSS {rss[-1][1] / 1024:7.1f} MiB  "
                    f"requests {sum(len(v) for v in soak.latencies.values())}")
                time.sleep(min(30.0, max(end - time.monotonic(), 0.1)))
            rss.append((round(time.monotonic() - begin, 1), rss_kib(server.pid)))
            soak.stop.set()
            for thread in threads:
                thread.join(timeout=60)
            duration = time.monotonic() - begin
        finally:
            soak.stop.set()
            server.stop()
        cluster.drop("soak")
    result["kinds"] = {
        kind: {"requests": len(values), "errors": soak.errors.get(kind, 0),
               "rps": round(len(values) / duration, 1),
               "p50_ms": round(statistics.median(values), 2) if values else 0.0,
               "p99_ms": percentile(values, 0.99)}
        for kind, values in sorted(soak.latencies.items())}
    everything = [v for values in soak.latencies.values() for v in values]
    result["total"] = {"requests": len(everything), "errors": sum(soak.errors.values()),
                       "rps": round(len(everything) / duration, 1),
                       "p99_ms": percentile(everything, 0.99)}
    result["rss_kib"] = rss
    result["rss_start_mib"] = round(rss[0][1] / 1024, 1)
    result["rss_end_mib"] = round(rss[-1][1] / 1024, 1)
    result["error_samples"] = soak.error_samples
    result["load_after"] = round(os.getloadavg()[0], 2)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"soak-{started:%Y%m%d-%H%M}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(table(result))
    log(f"written {out}")
    return 0


def table(result: dict[str, Any]) -> str:
    lines = ["| kind | requests | errors | req/s | p50 | p99 |", "|---|---|---|---|---|---|"]
    for kind, s in result["kinds"].items():
        lines.append(f"| {kind} | {s['requests']} | {s['errors']} | {s['rps']} | "
                     f"{s['p50_ms']} ms | {s['p99_ms']} ms |")
    total = result["total"]
    lines.append(f"| all | {total['requests']} | {total['errors']} | {total['rps']} | | "
                 f"{total['p99_ms']} ms |")
    lines.append(f"\nserver RSS {result['rss_start_mib']} MiB at the start, "
                 f"{result['rss_end_mib']} MiB at the end ({result['minutes']} min, "
                 f"c={result['concurrency']}, load average {result['load_before']} before, "
                 f"{result['load_after']} after)")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
