"""Results: machine facts, ratios against the peers, the issue's targets, Markdown and chart."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.ingest import OGR_INDEXED
from bench.systems import BENCH_BIN, HUB_ONLY, ROOT, describe_equivalents

# the targets
INGEST_VS_OGR = 1.0
INGEST_VS_OGR_INDEXED = 1.0  # ogr2ogr plus the indexes the hub serves from, same run
INGEST_VS_OGR_PLAIN = 2.5
OGC_FILTER_VS_TIPG = 5.0
PEAK_RSS_MB = 1024
CP932_VS_UTF8 = 1.2
RPS_VS_TIPG = 1.5
RPS_VS_PYGEOAPI = 3.0


def shown(path: Path) -> str:
    """A path as the results show it: relative to the checkout when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version()}


def _pip_version(package: str) -> str | None:
    python = BENCH_BIN / "python"
    if not python.exists():
        return None
    out = subprocess.run([str(python), "-c", f"import importlib.metadata as m; "
                          f"print(m.version('{package}'))"], capture_output=True, text=True,
                         check=False)
    return out.stdout.strip() or None


def versions() -> dict[str, Any]:
    def run(cmd: list[str]) -> str | None:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
        except FileNotFoundError:
            return None
        if out.returncode != 0:
            return None
        lines = (out.stdout or out.stderr).strip().splitlines()
        return lines[0] if lines else ""

    from importlib.metadata import version

    return {
        "hub_commit": run(["git", "rev-parse", "--short", "HEAD"]),
        "hub_tree_dirty": bool(run(["git", "status", "--porcelain", "hub", "etl"])),
        "uvicorn": version("uvicorn"),
        "tipg": _pip_version("tipg"),
        "pygeoapi": _pip_version("pygeoapi"),
        "gdal": run(["ogr2ogr", "--version"]),
        "wrk": run(["wrk", "--version"]),
    }


def _by(runs: list[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    return {(r["query"], r["concurrency"], r["system"]): r for r in runs}


def ratios(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """hub vs each peer per (query, concurrency): requests/s ratio and p99 comparison."""
    table = _by(runs)
    keys = sorted({(q, c) for q, c, _ in table}, key=lambda k: (k[0], k[1]))
    out = []
    for query, concurrency in keys:
        hub = table.get((query, concurrency, "hub"))
        if hub is None:
            continue
        row: dict[str, Any] = {"query": query, "concurrency": concurrency}
        for peer in ("tipg", "pygeoapi"):
            other = table.get((query, concurrency, peer))
            if other is None or not other["rps"]:
                row[f"rps_vs_{peer}"] = None
                row[f"p99_vs_{peer}"] = None
                continue
            row[f"rps_vs_{peer}"] = round(hub["rps"] / other["rps"], 2)
            row[f"p99_vs_{peer}"] = round(hub["p99_ms"] / other["p99_ms"], 2) \
                if other["p99_ms"] else None
        tipg = table.get((query, concurrency, "tipg"))
        for variant in ("hub-ogc", "hub-ogc-exact", "hub-cold", "hub-pmtiles"):
            other = table.get((query, concurrency, variant))
            row[f"{variant.replace('-', '_')}_rps_vs_tipg"] = \
                round(other["rps"] / tipg["rps"], 2) if other and tipg and tipg["rps"] else None
        out.append(row)
    return out


# Index builds a plain load lacks before it can serve what the hub serves (q= text search,
# lookups by id); ogr2ogr builds the GiST on geom itself, which serves radius and nearest.
EXTRA_INDEXES = ("GIN trigram (_search)", "unique B-tree (id)", "ANALYZE")


def _served_like_hub(ingest: dict[str, Any]) -> list[str]:
    """A derived line, labelled as such: ogr2ogr's wall time plus the index builds its table
    would still need to answer the hub's queries, timed on the hub's table in the same run.
    It separates what validation and normalisation cost from what the served indexes cost."""
    results, breakdown = ingest["results"], ingest.get("index_breakdown_s") or {}
    ogr, hub = results.get("ogr2ogr (PG_USE_COPY)"), results.get("hub publish (UTF-8)")
    if not ogr or not hub or not all(k in breakdown for k in EXTRA_INDEXES):
        return []
    extra = sum(breakdown[k] for k in EXTRA_INDEXES)
    served = ogr["wall_s"] + extra
    return [f"Derived, not a separate run: ogr2ogr ({ogr['wall_s']:.1f} s) plus the index "
            f"builds its table would still need to serve the same queries "
            f"({', '.join(EXTRA_INDEXES)}: {extra:.1f} s) is {served:.1f} s; `hub publish` "
            f"took {hub['wall_s'] / served:.2f}x that.", ""]


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: met, not met, or not measured (never guessed)."""
    out: list[dict[str, Any]] = []
    ingest = (result.get("ingest") or {}).get("results", {})
    hub = ingest.get("hub publish (UTF-8)")
    cp932 = ingest.get("hub publish (CP932)")
    ogr = ingest.get("ogr2ogr (PG_USE_COPY)")
    ogr_indexed = ingest.get(OGR_INDEXED)

    def add(name: str, value: float | None, limit: float, lower_is_better: bool,
            unit: str = "x") -> None:
        met = None if value is None else (value <= limit if lower_is_better else value >= limit)
        out.append({"target": name, "value": value, "limit": limit, "unit": unit,
                    "met": met})

    if hub:
        if hub.get("commit_s"):
            add("ingest time <= 1.0x ogr2ogr (hub: until the version is committed)",
                round(hub["commit_s"] / ogr["wall_s"], 2) if ogr else None, INGEST_VS_OGR,
                True)
        add("ingest time <= 1.0x ogr2ogr (hub: whole `hub publish`, bulk files included)",
            round(hub["wall_s"] / ogr["wall_s"], 2) if ogr else None, INGEST_VS_OGR, True)
        add("ingest time <= 1.0x ogr2ogr + the same indexes, one run (hub: whole `hub "
            "publish`)", round(hub["wall_s"] / ogr_indexed["wall_s"], 2) if ogr_indexed
            else None, INGEST_VS_OGR_INDEXED, True)
        add("ingest time < 2.5x plain ogr2ogr (hub: whole `hub publish`)",
            round(hub["wall_s"] / ogr["wall_s"], 2) if ogr else None, INGEST_VS_OGR_PLAIN,
            True)
        add("hub publish peak memory < 1 GB", round(hub["peak_rss_mb"], 0), PEAK_RSS_MB, True,
            "MB")
        add("CP932 publish <= 1.2x UTF-8",
            round(cp932["wall_s"] / hub["wall_s"], 2) if cp932 else None, CP932_VS_UTF8, True)
        if hub.get("commit_s") and cp932 and cp932.get("commit_s"):
            add("CP932 publish <= 1.2x UTF-8 (until committed)",
                round(cp932["commit_s"] / hub["commit_s"], 2), CP932_VS_UTF8, True)
    scales = [s for s in result.get("scales") or [] if s.get("runs")]
    if scales:
        main = max(scales, key=lambda s: s["rows"])
        for row in ratios(main["runs"]):
            if row["query"] in HUB_ONLY:
                continue  # no peer answers it: nothing to compare against
            label = f"{row['query']} c={row['concurrency']} ({main['rows']:,} rows)"
            add(f"{label}: req/s >= 1.5x tipg", row["rps_vs_tipg"], RPS_VS_TIPG, False)
            add(f"{label}: req/s >= 3x pygeoapi", row["rps_vs_pygeoapi"], RPS_VS_PYGEOAPI,
                False)
            add(f"{label}: p99 <= tipg's", row["p99_vs_tipg"], 1.0, True)
            if row["query"] == "filter":
                add(f"{label}: /ogc items (hub-ogc) req/s >= 5x tipg",
                    row.get("hub_ogc_rps_vs_tipg"), OGC_FILTER_VS_TIPG, False)
            if row.get("hub_cold_rps_vs_tipg") is not None:  # tiles: the cache-off figure too
                add(f"{label}, tile cache off: req/s >= 1.5x tipg",
                    row["hub_cold_rps_vs_tipg"], RPS_VS_TIPG, False)
    return out


# -- Markdown -------------------------------------------------------------------------------


def _all_cpu(entry: dict[str, Any]) -> float | None:
    """Client plus database CPU seconds of one timed command, or None when the server's
    share was not measured."""
    server = entry.get("server_cpu_s")
    return None if server is None else entry["user_s"] + entry["sys_s"] + server


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(result: dict[str, Any], json_path: Path) -> str:
    m = result["machine"]
    v = result.get("versions", {})
    merged = result.get("merged_from")
    sources = [] if not merged else [f"- **merged** from {len(merged)} runs:"] + [
        f"  - {part} from `{m['file']}` (`{m['command']}`, "
        f"{m['started']} .. {m['finished']}, load {m['load_start'][0]} at start, "
        f"hub {m['hub_commit']})" for part, m in merged.items()]
    lines = [
        f"# Benchmark results ({result['suite']} suite)",
        "",
        *sources,
        f"- command: `{result['command']}`",
        f"- run: {result['started']} .. {result.get('finished')}; raw results "
        f"`{shown(json_path)}`",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; "
        f"PostgreSQL {m.get('postgresql')}, PostGIS {m.get('postgis')} (GEOS {m.get('geos')})",
        f"- load average (1 min) at start {result['load_start'][0]}, at end "
        f"{result.get('load_end', ['?'])[0]}; per-run load is in the JSON "
        "(the machine is shared: other work was running, figures are contended)",
        f"- hub {v.get('hub_commit')}"
        f"{' (+ uncommitted hub/etl changes)' if v.get('hub_tree_dirty') else ''}, "
        f"tipg {v.get('tipg')}, pygeoapi {v.get('pygeoapi')}, {v.get('gdal')}, "
        f"uvicorn {v.get('uvicorn')}; load generator: {result['settings']['load_generator']}",
        f"- servers: {result['settings']['servers']}",
        f"- each load run: {result['settings']['duration']} s per (query, system, concurrency), "
        f"{result['settings']['samples']} different requests cycled",
        "",
    ]
    if result.get("skipped"):
        lines += ["Skipped:", ""]
        lines += [f"- {k}: {v}" for k, v in result["skipped"].items()]
        lines.append("")
    ingest = result.get("ingest")
    if ingest:
        files = ingest.get("files", {})
        lines += [f"## Ingest: {ingest['rows']:,} rows "
                  f"({files.get('utf8', {}).get('bytes', 0) / 1e6:.0f} MB UTF-8 CSV)", "",
                  "| system | wall s | vs ogr2ogr | committed after s | vs ogr2ogr | "
                  "client peak RSS MB | client CPU s | database CPU s | all CPU s | "
                  "all CPU vs ogr2ogr | load |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        ogr = ingest["results"].get("ogr2ogr (PG_USE_COPY)")
        ogr_cpu = _all_cpu(ogr) if ogr else None
        for name, r in ingest["results"].items():
            ratio = r["wall_s"] / ogr["wall_s"] if ogr else None
            if len(r.get("samples_wall_s", [])) > 1:
                name = f"{name}, mean of {r['samples_wall_s']}"
            commit = r.get("commit_s")
            commit_ratio = commit / ogr["wall_s"] if ogr and commit else None
            cpu = _all_cpu(r)
            cpu_ratio = cpu / ogr_cpu if cpu is not None and ogr_cpu else None
            lines.append(f"| {name} | {r['wall_s']:.1f} | {_fmt(ratio, 2)} | "
                         f"{_fmt(commit, 1)} | {_fmt(commit_ratio, 2)} | "
                         f"{r['peak_rss_mb']:.0f} | {r['user_s'] + r['sys_s']:.1f} | "
                         f"{_fmt(r.get('server_cpu_s'), 1)} | {_fmt(cpu, 1)} | "
                         f"{_fmt(cpu_ratio, 2)} | {r.get('load_after', '')} |")
        lines += ["", "All CPU = the command's own CPU plus the database server's while it ran: "
                  "the work a load costs, which moves far less with the machine's load than "
                  f"wall time does. On {m['cores']} cores no schedule can finish a load in "
                  f"less than all CPU ÷ {m['cores']} seconds.", ""]
        if ingest.get("index_breakdown_s"):
            lines += ["Server-side work inside a publish, rebuilt one by one on the published "
                      "table (seconds): " + ", ".join(
                          f"{k} {v}" for k, v in ingest["index_breakdown_s"].items()), ""]
            lines += _served_like_hub(ingest)
    for scale in [s for s in result.get("scales", []) if s.get("runs")]:
        lines += [f"## Queries at {scale['rows']:,} rows", "",
                  "| query | c | system | req/s | p50 ms | p90 ms | p99 ms | errors | "
                  "server CPU ms/req | db CPU ms/req | new db connections | load |",
                  "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in sorted(scale["runs"], key=lambda r: (r["query"], r["concurrency"])):
            lines.append(
                f"| {r['query']} | {r['concurrency']} | {r['system']} | {r['rps']:,.1f} | "
                f"{r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | "
                f"{r['server_cpu_ms_per_req']:.2f} | {r['db_cpu_ms_per_req']:.2f} | "
                f"{r.get('connections_opened', 'n/a')} | {r['load_before']} |")
        lines += ["", f"Ratios at {scale['rows']:,} rows (hub = native /v1 records for "
                  "bbox/radius/by_id/filter, /ogc tiles for tiles):", "",
                  "| query | c | hub/tipg req/s | hub/pygeoapi req/s | hub p99 / tipg p99 | "
                  "hub p99 / pygeoapi p99 | hub-ogc/tipg req/s | "
                  "hub-ogc-exact/tipg req/s | hub-cold/tipg req/s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in ratios(scale["runs"]):
            lines.append(f"| {row['query']} | {row['concurrency']} | "
                         f"{_fmt(row['rps_vs_tipg'], 2)} | {_fmt(row['rps_vs_pygeoapi'], 2)} | "
                         f"{_fmt(row['p99_vs_tipg'], 2)} | {_fmt(row['p99_vs_pygeoapi'], 2)} | "
                         f"{_fmt(row['hub_ogc_rps_vs_tipg'], 2)} | "
                         f"{_fmt(row['hub_ogc_exact_rps_vs_tipg'], 2)} | "
                         f"{_fmt(row['hub_cold_rps_vs_tipg'], 2)} |")
        lines.append("")
    if len(result.get("scales", [])) > 1:
        lines += ["## Growth with size (hub, p50 ms at the lowest concurrency)", ""]
        scales = result["scales"]
        low = min(result["settings"]["concurrency"])
        lines.append("| query | system | " + " | ".join(f"{s['rows']:,}" for s in scales)
                     + " |")
        lines.append("|---|---|" + "---:|" * len(scales))
        systems_seen = sorted({r["system"] for s in scales for r in s["runs"]})
        for query in describe_equivalents():
            for system in systems_seen:
                cells = []
                for s in scales:
                    hit = [r for r in s["runs"] if r["query"] == query
                           and r["system"] == system and r["concurrency"] == low]
                    cells.append(f"{hit[0]['p50_ms']:.2f}" if hit else "n/a")
                if any(c != "n/a" for c in cells):
                    lines.append(f"| {query} | {system} | " + " | ".join(cells) + " |")
        lines.append("")
    if result.get("targets"):
        lines += ["## Targets (from the issue)", "", "| target | value | limit | met |",
                  "|---|---:|---:|---|"]
        for t in result["targets"]:
            met = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
            lines.append(f"| {t['target']} | {_fmt(t['value'], 2)} {t['unit']} | "
                         f"{t['limit']} {t['unit']} | {met} |")
        lines.append("")
    lines += profile_markdown(result)
    lines += ["## How each query was asked", ""]
    lines += [f"- **{k}**: {v}" for k, v in result["queries_asked_as"].items()]
    lines.append("")
    chart = result.get("chart") or {}
    if chart.get("path"):
        lines += [f"![latency percentiles]({Path(chart['path']).name})", ""]
    elif chart.get("skipped"):
        lines += [f"Chart: {chart['skipped']}", ""]
    return "\n".join(lines)


def _frames(title: str, rows: list[dict[str, Any]], top: int) -> list[str]:
    out = [f"{title}:", "", "| % of samples | frame |", "|---:|---|"]
    out += [f"| {r['percent']} | `{r['frame']}` |" for r in rows[:top]]
    return [*out, ""]


def profile_markdown(result: dict[str, Any], top: int = 10) -> list[str]:
    """The profiles' top frames ("where time goes")."""
    lines: list[str] = []
    for scale in result.get("scales", []):
        prof = scale.get("profile")
        if not prof:
            continue
        lines += [f"## Where the hub's time goes: {prof['query']} at {scale['rows']:,} rows, "
                  f"c={prof['concurrency']} (py-spy, {prof['seconds']} s)", "",
                  f"Chosen because: {prof['why']}.", ""]
        for mode, what in (("wall", "all busy threads (wall time, includes waiting on "
                                    "PostgreSQL)"),
                           ("gil", "the thread holding the GIL (the server process's CPU)")):
            data = prof.get(mode) or {}
            if "skipped" in data or not data:
                lines += [f"{what}: {data.get('skipped', 'not recorded')}", ""]
                continue
            lines += [f"### {what}; raw stacks `{data['raw']}`", ""]
            lines += _frames("Self time by package", data["self_by_package"], 8)
            lines += _frames("Hub frames, inclusive", data["hub_inclusive"], top)
            lines += _frames("Top self frames", data["self"], top)
    prof = (result.get("ingest") or {}).get("profile")
    if prof and "skipped" not in prof:
        lines += [f"## Where `hub publish` spends its time ({prof['rows']:,} rows, py-spy); "
                  f"raw stacks `{prof['raw']}`", ""]
        lines += _frames("Self time by package", prof["self_by_package"], 8)
        lines += _frames("Hub/etl frames, inclusive", prof["hub_inclusive"], 15)
        lines += _frames("Top self frames", prof["self"], top)
    return lines


# -- chart ------------------------------------------------------------------------------------


def chart(json_path: Path, png_path: Path) -> dict[str, Any]:
    """Draw the latency chart with bench/.venv's matplotlib (never the hub's environment)."""
    python = BENCH_BIN / "python"
    if not python.exists():
        return {"skipped": "bench/.venv not installed: no matplotlib, no chart"}
    out = subprocess.run([str(python), str(ROOT / "bench" / "chart.py"), str(json_path),
                          str(png_path)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"skipped": f"chart failed: {out.stderr[-500:]}"}
    return {"path": shown(png_path)}
