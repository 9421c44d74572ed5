"""Latency percentiles per system, one panel per (query, concurrency), at the largest scale.

Runs in bench/.venv (matplotlib is a bench requirement, not the hub's):
    bench/.venv/bin/python bench/chart.py results.json chart.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLOURS = {"hub": "#1b9e77", "hub-ogc": "#66c2a5", "tipg": "#d95f02", "pygeoapi": "#7570b3",
           "hub-cold": "#a6d854", "hub-ogc-exact": "#e7298a"}
PERCENTILES = (("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99"))


def draw(result: dict, png: Path) -> None:
    scale = max((s for s in result["scales"] if s.get("runs")), key=lambda s: s["rows"])
    runs = scale["runs"]
    queries = [q for q in result["queries_asked_as"] if any(r["query"] == q for r in runs)]
    levels = sorted({r["concurrency"] for r in runs})
    fig, axes = plt.subplots(len(levels), len(queries), figsize=(3.2 * len(queries),
                             3.2 * len(levels)), squeeze=False)
    for i, c in enumerate(levels):
        for j, q in enumerate(queries):
            ax = axes[i][j]
            hits = [r for r in runs if r["query"] == q and r["concurrency"] == c]
            names = [r["system"] for r in hits]
            width = 0.8 / max(len(hits), 1)
            for k, r in enumerate(hits):
                xs = [p + k * width for p in range(len(PERCENTILES))]
                ax.bar(xs, [r[key] for key, _ in PERCENTILES], width,
                       color=COLOURS.get(r["system"], "grey"), label=r["system"])
            ax.set_xticks([p + width * (len(hits) - 1) / 2 for p in range(len(PERCENTILES))])
            ax.set_xticklabels([label for _, label in PERCENTILES])
            ax.set_yscale("log")
            ax.set_title(f"{q}, c={c}", fontsize=10)
            if j == 0:
                ax.set_ylabel("latency ms (log)")
            if i == 0 and j == 0 and names:
                ax.legend(fontsize=8)
    m = result["machine"]
    fig.suptitle(f"{scale['rows']:,} rows, {result['suite']} suite; {m['cpu']}, {m['cores']} "
                 f"cores; load at start {result['load_start'][0]}", fontsize=11)
    fig.tight_layout()
    fig.savefig(png, dpi=90)


def main() -> None:
    result = json.loads(Path(sys.argv[1]).read_text())
    if not any(s.get("runs") for s in result.get("scales", [])):
        raise SystemExit("no query results to chart")
    draw(result, Path(sys.argv[2]))


if __name__ == "__main__":
    main()
