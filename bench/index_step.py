"""The publish's index step, with and without the GiST on ``geography(geom)``, A/B.

A throwaway cluster, one ``hub publish`` of the bench's places file, then rounds that copy
the published table without indexes and build one index set on the copy with the publish's
own builder (``etl.load.build_indexes``, two connections), alternating the two sets (ABBA)
so that the machine's load falls on both alike. Reported per build: the cluster's CPU
seconds (from /proc, as ``bench.run`` counts them) and the wall seconds.

- ``with geography``: the set versions had before radius searches moved to the ``geom``
  index, in its order then: the geography GiST with ANALYZE right after it, the trigram
  parts, the key B-tree, the ``geom`` GiST.
- ``without``: ``etl.load.index_jobs`` as it is.

    .venv/bin/python -m bench.index_step --rows 1000000 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import create_engine, text

from bench import ingest, systems
from bench.generate import dataset_files
from bench.run import DATA, Cluster, _db_cpu, log
from etl.load import SEARCH_INDEX_BUCKETS, IndexJob, build_indexes, index_jobs
from hub.search_buckets import bucket_bounds

COPY = "index_step_copy"


def job_sets(rows: int) -> dict[str, list[IndexJob]]:
    """Both index sets for the copy, as job lists for ``build_indexes``."""
    layer: Any = SimpleNamespace(has_geometry=True, schema=SimpleNamespace(primary_key=["id"]))
    now = index_jobs(COPY, layer, bucket_bounds(rows, SEARCH_INDEX_BUCKETS))
    trigram = [job for job in now if "gin_trgm_ops" in job[0]]
    key = [job for job in now if "UNIQUE" in job[0]]
    geom = [job for job in now if "gist (geom)" in job[0]]
    geography: IndexJob = (f'CREATE INDEX "{COPY}_geog" ON data."{COPY}" '
                           "USING gist ((geography(geom)))", f'ANALYZE data."{COPY}"')
    return {"with geography": [geography, *trigram, *key, *geom], "without": now}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="ABBA pairs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    args = parser.parse_args(argv)
    utf8, _cp932 = dataset_files(args.rows, args.seed, DATA)
    sets = job_sets(args.rows)
    results: list[dict[str, Any]] = []
    with Cluster(keep=False) as cluster:
        url = cluster.database("index_step")
        log(f"index step: hub publish of {args.rows} rows")
        ingest.hub_publish(url, utf8)
        engine = create_engine(url)
        order = ["with geography", "without", "without", "with geography"] * args.rounds
        for name in order:
            with engine.begin() as conn:
                conn.execute(text(f'DROP TABLE IF EXISTS data."{COPY}"'))
                conn.execute(text(f'CREATE TABLE data."{COPY}" AS '
                                  f'SELECT * FROM data."{systems.TABLE}"'))
            load_before = os.getloadavg()[0]
            cpu, began = _db_cpu(cluster.postmaster), time.perf_counter()
            build_indexes(engine, sets[name])
            entry = {"set": name, "server_cpu_s": round(_db_cpu(cluster.postmaster) - cpu, 2),
                     "wall_s": round(time.perf_counter() - began, 2),
                     "load": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
            log(f"index step: {json.dumps(entry)}")
            results.append(entry)
        engine.dispose()
    for name in sets:
        mine = [r for r in results if r["set"] == name]
        log(f"{name}: server CPU s {[r['server_cpu_s'] for r in mine]}, "
            f"wall s {[r['wall_s'] for r in mine]}")
    if args.out:
        args.out.write_text(json.dumps({"rows": args.rows, "runs": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
