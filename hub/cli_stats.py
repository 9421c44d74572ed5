"""``hub stats``: usage statistics for someone with a shell on the server (per day, every
dataset or one; a table or CSV). The numbers are those of ``GET /v1/stats?detail=day``;
server processes write their counts every ``HUB_USAGE_FLUSH_S`` seconds."""

from __future__ import annotations

import sys
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.settings import Settings

console = Console(stderr=True)
out = Console()


def stats_cmd(
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="One dataset id (default: every dataset).")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Days from this date on (YYYY-MM-DD).")] = None,
    csv_output: Annotated[bool, typer.Option(
        "--csv", help="Write CSV to standard output (for spreadsheets).")] = False,
) -> None:
    """Requests, records served, tiles, downloads by format and distinct clients per day.

    Example: [bold]hub stats --dataset kobe-aed --csv > kobe-aed-usage.csv[/]
    """
    from hub.data import Data, NotFound
    from hub.data.usage import UsageStore
    from hub.db.engine import make_engine
    from hub.serialise.usage import daily_csv

    try:
        first_day = date.fromisoformat(since) if since else None
    except ValueError:
        console.print(f"[bold red]error:[/] --since {since!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None
    engine = make_engine(Settings())
    try:
        if dataset is not None:
            try:
                Data(engine).dataset(dataset)
            except NotFound as exc:
                console.print(f"[bold red]error:[/] {exc}")
                raise typer.Exit(1) from None
        rows = UsageStore(engine).daily(dataset, first_day)
    finally:
        engine.dispose()
    if csv_output:
        sys.stdout.buffer.write(daily_csv(rows))
        return
    if not rows:
        console.print("no usage recorded" + (f" for {dataset}" if dataset else ""))
        return
    table = Table("day", "dataset", "version", "kind", "format", "requests", "records",
                  "clients")
    for row in rows:
        table.add_row(row["day"].isoformat(), row["dataset_id"], str(row["version"]),
                      row["kind"], row["format"], str(row["requests"]), str(row["records"]),
                      str(row["clients"]))
    out.print(table)
