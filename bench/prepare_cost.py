"""The client's CPU work in a publish, stage by stage, and the COPY stream it sends.

Two measurements of the 1M-row bench file (bench/generate.py), each as an A/B against an
older copy of the code (``--old DIR``: a directory holding that code's ``etl``, ``hub`` and
``schemas``, e.g. from ``git archive <commit> etl hub schemas | tar -x -C DIR``), the two
alternating in one session so that the machine's load falls on both alike:

* ``stages`` (no database): read, normalise, geometry, validate (the progress callback of
  ``etl.prepare.prepare``), spatial order, and the COPY text (``etl.load.copy_chunks``, as
  ``copy_rows`` makes it, without sending it). CPU (user + system) and page faults per
  stage from ``getrusage``, peak RSS, and the SHA-256 of the COPY bytes, which is the
  version's ``content_sha256``: it must not change.
* ``publish``: ``hub publish`` into fresh databases of one throwaway cluster
  (bench/ingest.py's accounting: wall, the command's CPU and peak RSS, the cluster's CPU),
  and the stored ``content_sha256``.

Usage::

    .venv/bin/python -m bench.prepare_cost stages --old /tmp/old --rounds 2
    .venv/bin/python -m bench.prepare_cost publish --old /tmp/old --rounds 2
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.generate import dataset_files
from bench.systems import DATASET_ID, HUB_BIN, ROOT

DATA = ROOT / "bench" / "data"


def stages(csv: Path) -> dict[str, Any]:
    """One pass of the prepare step and the COPY text, with the code on ``sys.path``."""
    from etl import arrow_memory, load
    from etl.prepare import prepare
    from etl.publish import publishable
    from etl.spatial_order import spatial_order
    from hub.catalog import load_definition

    marks: list[tuple[str, float, float, int]] = []

    def mark(label: str) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        marks.append((label, time.perf_counter(), usage.ru_utime + usage.ru_stime,
                      usage.ru_minflt))

    def progress(stage: str, done: int, total: int) -> None:
        if done == total and stage in ("read", "normalise", "validate"):
            mark(stage)

    definition = load_definition(DATASET_ID, ROOT / "bench" / "datasets",
                                 ROOT / "bench" / "schemas")
    mark("start")
    prepared = prepare(definition, csv, progress=progress)
    layer = publishable(prepared).main
    order = spatial_order(layer.geometry_wkt)
    mark("spatial order")
    digest, size = hashlib.sha256(), 0
    # as copy_rows does in the code measured (older code has no reusing_freed_memory)
    reusing = getattr(arrow_memory, "reusing_freed_memory", contextlib.nullcontext)
    with reusing():
        for _, data in load.made_ahead(load.copy_chunks(layer, order)):
            digest.update(data)
            size += len(data)
    mark("COPY text")
    names = {"validate": "geometry + validate"}
    steps = {}
    for before, (label, wall, cpu, faults) in itertools.pairwise(marks):
        steps[names.get(label, label)] = {"wall_s": round(wall - before[1], 2),
                                          "cpu_s": round(cpu - before[2], 2),
                                          "faults": faults - before[3]}
    return {"stages": steps, "cpu_s": round(marks[-1][2] - marks[0][2], 2),
            "wall_s": round(marks[-1][1] - marks[0][1], 2), "rows": len(prepared.frame),
            "errors": len(prepared.report.errors), "copy_bytes": size,
            "copy_sha256": digest.hexdigest(),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def _child(code: Path | None, csv: Path) -> dict[str, Any]:
    """:func:`stages` in a fresh process on ``code`` (None: this checkout). ``-m`` puts the
    working directory first on the path, so the process runs in ``code``."""
    path = os.pathsep.join(str(p) for p in (code, ROOT) if p)
    out = subprocess.run([sys.executable, "-m", "bench.prepare_cost", "one", str(csv)],
                         env={**os.environ, "PYTHONPATH": path}, cwd=code or ROOT, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _publish(code: Path | None, csv: Path, cluster: Any, name: str) -> dict[str, Any]:
    """``hub publish`` of ``csv`` on ``code`` into a fresh database of ``cluster``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from bench.ingest import hub_env, run_timed
    from bench.run import _db_cpu

    url = cluster.database(name)
    env = {**hub_env(url), "PYTHONPATH": os.pathsep.join(str(p) for p in (code, ROOT) if p)}
    timed = run_timed([str(HUB_BIN / "hub"), "publish", DATASET_ID, str(csv)], env=env,
                      server_cpu=lambda: _db_cpu(cluster.postmaster))
    if timed.exit_code:
        raise RuntimeError(f"hub publish failed: {timed.output_tail}")
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        sha = conn.execute(text("SELECT content_sha256 FROM hub.versions")).scalar_one()
    engine.dispose()
    return {"wall_s": round(timed.wall_s, 2), "cpu_s": round(timed.user_s + timed.sys_s, 2),
            "peak_rss_mb": round(timed.peak_rss_mb), "server_cpu_s": round(
                timed.server_cpu_s or 0, 2), "content_sha256": sha}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["stages", "publish", "one"])
    parser.add_argument("csv", nargs="?", type=Path)
    parser.add_argument("--old", type=Path, help="older code (etl, hub, schemas) to compare")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.mode == "one":
        import etl

        print(json.dumps({"code": str(Path(etl.__file__).parents[1]), **stages(args.csv)}))
        return
    csv = (args.csv or dataset_files(args.rows, 42, DATA)[0]).resolve()
    variants: list[tuple[str, Path | None]] = [("new", None)]
    if args.old:
        variants.insert(0, ("old", args.old.resolve()))
    runs = []
    cluster_cm: Any = contextlib.nullcontext()
    if args.mode == "publish":
        from bench.run import Cluster

        cluster_cm = Cluster(keep=False)
    with cluster_cm as cluster:
        for number in range(args.rounds):
            for label, code in variants if number % 2 == 0 else variants[::-1]:
                load = os.getloadavg()[0]
                result = (_child(code, csv) if args.mode == "stages"
                          else _publish(code, csv, cluster, f"cost_{label}_{number}"))
                run = {"variant": label, "round": number, "load_before": round(load, 2),
                       "load_after": round(os.getloadavg()[0], 2), **result}
                print(json.dumps(run), flush=True)
                runs.append(run)
    if args.out:
        args.out.write_text(json.dumps({"mode": args.mode, "csv": str(csv), "runs": runs},
                                       indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
