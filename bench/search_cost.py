"""What full-text ``q`` costs, as ratios measured in one session on one table.

Publishes the benchmark places (bench/generate.py, ``--rows``) into a throwaway cluster, then:

* records: ``/v1/datasets/{id}/records?limit=10`` against the same request with ``q`` (words
  cut from real names, so every ``q`` matches), requests per second in rounds that alternate
  the two, through the real app in-process (one client, sequential);
* catalogue: ``/v1/datasets`` against ``/v1/datasets?q=...`` the same way;
* folding itself: the indexed side (``etl.normalise.search_text`` over the table's search
  fields) against joining and lower-casing the prepared cells (what it did before folding),
  and the query side (``hub.textfold.fold_query``) against NFKC + lower case.

Ratios, not absolute times: the machine is shared. Usage::

    .venv/bin/python -m bench.search_cost --rows 100000 --seconds 5
"""

from __future__ import annotations

import argparse
import json
import random
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from bench.generate import dataset_files
from bench.run import Cluster
from etl import normalise as norm
from etl.prepare import prepare
from etl.publish import publish
from hub.api.app import create_app
from hub.catalog import load_definition
from hub.settings import Settings
from hub.textfold import fold_query

BENCH = Path(__file__).resolve().parent
DATASET = "bench-tokyo-places"


def _rate(client: TestClient, paths: list[str], seconds: float) -> float:
    """Requests per second over ``paths`` in turn for ``seconds`` (every answer must be 200)."""
    done, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        response = client.get(paths[done % len(paths)])
        assert response.status_code == 200, response.text
        done += 1
    return done / elapsed


def _compare(client: TestClient, plain: list[str], searched: list[str], seconds: float,
             rounds: int) -> dict[str, float]:
    """Alternating rounds of the two request sets; the ratio of their summed rates."""
    a = b = 0.0
    for _ in range(rounds):
        a += _rate(client, plain, seconds / rounds)
        b += _rate(client, searched, seconds / rounds)
    return {"without_q_rps": round(a / rounds, 1), "with_q_rps": round(b / rounds, 1),
            "with_q_over_without": round(b / a, 3)}


def _per_call(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _legacy_search_text(frame: pd.DataFrame, fields: list[str]) -> list[str]:
    """What ``_search`` cost before folding: the prepared (already NFKC) cells of each row
    joined and lower-cased."""
    columns = [norm.text_array(frame[name]) for name in fields]
    return [" ".join(filter(None, row)).lower() for row in zip(*columns, strict=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=6.0, help="per comparison")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--results", type=Path, default=BENCH / "results")
    args = parser.parse_args(argv)

    utf8, _ = dataset_files(args.rows, args.seed, BENCH / "data")
    out: dict[str, Any] = {"rows": args.rows, "seconds": args.seconds, "rounds": args.rounds,
                           "started": datetime.now(UTC).isoformat(timespec="seconds")}
    with Cluster(keep=False) as cluster:
        url = cluster.database("search_cost")
        settings = Settings(database_url=url, datasets_dir=BENCH / "datasets",
                            schemas_dir=BENCH / "schemas", data_dir=Path("/tmp"))
        definition = load_definition(DATASET, settings.datasets_dir, settings.schemas_dir)
        prepared = prepare(definition, utf8)
        fields = definition.schema.search_fields(DATASET)
        frame = prepared.frame
        out["indexed_side"] = {
            "fields": fields,
            "folded_s": round(_per_call(lambda: norm.search_text(frame, fields)), 3),
            "legacy_s": round(_per_call(lambda: _legacy_search_text(frame, fields)), 3),
        }
        engine = create_engine(url)
        publish(engine, prepared, publisher="bench")
        engine.dispose()

        rng = random.Random(args.seed)
        names = [str(n) for n in frame["name"].dropna().sample(64, random_state=args.seed)]
        words = [n[i:i + 3] for n in names for i in [rng.randrange(max(1, len(n) - 2))]]
        queries = [*words, "センター", "ｾﾝﾀｰ", "駐車場", "トイレ"]
        started = time.perf_counter()
        for q in queries * 100:
            fold_query(q)
        folded = time.perf_counter() - started
        started = time.perf_counter()
        for q in queries * 100:
            unicodedata.normalize("NFKC", q).lower()
        legacy = time.perf_counter() - started
        out["query_side_us_per_q"] = {"folded": round(folded / len(queries) / 100 * 1e6, 2),
                                      "legacy": round(legacy / len(queries) / 100 * 1e6, 2)}

        base = f"/v1/datasets/{DATASET}/records?limit=10"
        with TestClient(create_app(settings)) as client:
            _rate(client, [base], 1.0)  # warm the pools and caches
            out["records"] = _compare(client, [base] * len(queries),
                                      [f"{base}&q={q}" for q in queries],
                                      args.seconds, args.rounds)
            out["catalogue"] = _compare(client, ["/v1/datasets"] * 4,
                                        [f"/v1/datasets?q={q}" for q in ("東京", "施設",
                                                                         "ベンチマーク", "tokyo")],
                                        args.seconds, args.rounds)
    out["indexed_side"]["folded_over_legacy"] = round(
        out["indexed_side"]["folded_s"] / out["indexed_side"]["legacy_s"], 2)
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = args.results / f"search-cost-{args.rows}-{stamp}.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
