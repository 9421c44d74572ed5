"""Combine the ingest part of one run with the query part of another into one result.

    .venv/bin/python -m bench.merge --ingest bench/results/full-A.json \\
        --queries bench/results/full-B.json

Writes ``full-<stamp>-merged.json``, ``latest.md`` and ``latest.png``, naming every source
run (command, time, load) so nothing is presented as one run that was not. ``--rerun C.json``
(a later ``bench.run --queries radius,...`` run) replaces just those queries' figures. Used when one
part of a run had to be redone (see bench/README.md, "Latest results").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from bench import report
from bench.run import RESULTS, ROOT


def redo_queries(out: dict[str, Any], rerun: dict[str, Any]) -> list[str]:
    """Replace, scale by scale, the runs and checks of the queries ``rerun`` measured (its
    ``settings["queries"]``) with its own; every other query keeps the first run's figures.
    Returns the queries replaced."""
    redone = list(rerun["settings"].get("queries") or [])
    by_rows = {s["rows"]: s for s in rerun.get("scales") or []}
    scales = []
    for scale in out.get("scales") or []:
        again = by_rows.get(scale["rows"])
        if again is None:
            scales.append(scale)
            continue
        scale = dict(scale)
        scale["runs"] = ([r for r in scale["runs"] if r["query"] not in redone]
                         + [r for r in again["runs"] if r["query"] in redone])
        checks = {k: v for k, v in (scale.get("checks") or {}).items()
                  if k.split("/")[0] not in redone}
        checks.update({k: v for k, v in (again.get("checks") or {}).items()
                       if k.split("/")[0] in redone})
        scale["checks"] = checks
        scales.append(scale)
    out["scales"] = scales
    return redone


def merge(ingest_path: Path, queries_path: Path, results: Path,
          rerun_path: Path | None = None) -> Path:
    ingest_run = json.loads(ingest_path.read_text())
    queries_run = json.loads(queries_path.read_text())
    out = dict(queries_run)
    out["ingest"] = ingest_run["ingest"]
    out["skipped"] = {**{k: v for k, v in queries_run.get("skipped", {}).items()},
                      **{f"ingest: {k}": v for k, v in ingest_run.get("skipped", {}).items()}}
    out["merged_from"] = {
        part: {"file": report.shown(path), "command": run["command"], "started": run["started"],
               "finished": run.get("finished"), "load_start": run["load_start"],
               "load_end": run.get("load_end"), "hub_commit": run["versions"]["hub_commit"]}
        for part, path, run in (("ingest", ingest_path, ingest_run),
                                ("queries", queries_path, queries_run))}
    if rerun_path is not None:
        rerun = json.loads(rerun_path.read_text())
        redone = redo_queries(out, rerun)
        out["merged_from"][f"queries redone: {', '.join(redone)}"] = {
            "file": report.shown(rerun_path), "command": rerun["command"],
            "started": rerun["started"], "finished": rerun.get("finished"),
            "load_start": rerun["load_start"], "load_end": rerun.get("load_end"),
            "hub_commit": rerun["versions"]["hub_commit"]}
    out["targets"] = report.targets(out)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    json_path = results / f"{out['suite']}-{stamp}-merged.json"
    json_path.write_text(json.dumps(out, ensure_ascii=False, indent=1))
    chart = report.chart(json_path, results / f"{out['suite']}-{stamp}-merged.png")
    out["chart"] = chart
    json_path.write_text(json.dumps(out, ensure_ascii=False, indent=1))
    (results / "latest.md").write_text(report.markdown(out, json_path))
    if chart.get("path"):
        shutil.copyfile(ROOT / chart["path"], results / "latest.png")
    return json_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--rerun", type=Path,
                        help="a later run of some queries (bench.run --queries ...): its "
                        "figures replace those queries' in --queries, scale by scale")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    print(merge(args.ingest, args.queries, args.results, args.rerun))


if __name__ == "__main__":
    main()
