"""The ``hub`` command: database, publishing, serving and the demo.

The CLI is the one place allowed to call into both ``hub`` and ``etl``. Every command builds
its :class:`Settings` from the environment once and passes it down.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.settings import Settings

app = typer.Typer(
    name="hub",
    help="Co-Creation Hub: publish city open data as immutable versions and serve it over HTTP.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="The hub's database: the embedded local cluster or HUB_DATABASE_URL.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console(stderr=True)
out = Console()


def _settings() -> Settings:
    return Settings()


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


# -- db -------------------------------------------------------------------------------------


@db_app.command("up")
def db_up() -> None:
    """Create (first time) and start the embedded PostGIS cluster, then run migrations.

    Does nothing to the cluster when HUB_DATABASE_URL is set (it only migrates that database).
    Safe to run repeatedly.
    """
    from hub.db.cluster import ClusterError
    from hub.db.engine import database_url, local_cluster
    from hub.db.migrate import upgrade

    settings = _settings()
    try:
        if not settings.database_url:
            cluster = local_cluster(settings)
            console.print(f"starting embedded PostgreSQL in [bold]{cluster.root}[/] "
                          f"on 127.0.0.1:{cluster.port} ...")
            cluster.start()
            _ensure_database(cluster.url("postgres"), settings.db_name)
        upgrade(database_url(settings))
    except ClusterError as exc:
        _fail(str(exc))
    console.print("[green]database ready[/] (migrations applied)")


def _ensure_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


@db_app.command("down")
def db_down() -> None:
    """Stop the embedded cluster (data is kept; `hub db up` starts it again)."""
    from hub.db.engine import local_cluster

    settings = _settings()
    if settings.database_url:
        _fail("HUB_DATABASE_URL is set: the hub does not manage that server")
    local_cluster(settings).stop()
    console.print("embedded PostgreSQL stopped")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database is reachable and which migration it is at."""
    from hub.db.engine import database_url, local_cluster
    from hub.db.migrate import current_revision

    settings = _settings()
    if not settings.database_url:
        cluster = local_cluster(settings)
        if not cluster.is_initialised():
            _fail(f"no embedded cluster in {cluster.root}; run `hub db up`", code=3)
        if not cluster.is_running():
            _fail(f"embedded cluster in {cluster.root} is stopped; run `hub db up`", code=3)
        out.print(f"embedded cluster: running in {cluster.root} on 127.0.0.1:{cluster.port}")
    else:
        out.print("external database (HUB_DATABASE_URL)")
    out.print(f"migration: {current_revision(database_url(settings)) or 'none (run hub db up)'}")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (contains the embedded cluster's password: keep it private)."""
    from hub.db.engine import database_url

    out.print(database_url(_settings()), soft_wrap=True)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply catalogue migrations (Alembic) up to the newest revision."""
    from hub.db.engine import database_url
    from hub.db.migrate import upgrade

    upgrade(database_url(_settings()))
    console.print("[green]migrations applied[/]")


# -- validate / publish ----------------------------------------------------------------------


def _prepare(dataset_id: str, file: Path, encoding: str | None, delimiter: str | None,
             sheet: str | None, skip_invalid: bool, settings: Settings) -> Any:
    from etl.read import ReadError
    from etl.sources import prepare_source
    from hub.catalog import DefinitionError, load_definition

    try:
        definition = load_definition(dataset_id, settings.datasets_dir, settings.schemas_dir)
    except DefinitionError as exc:
        _fail(str(exc), code=2)
    if not file.exists():
        _fail(f"{file}: no such file", code=2)
    with _progress() as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=max(total, 1))
            progress.update(tasks[stage], completed=done, total=max(total, 1))

        try:
            return definition, prepare_source(
                definition, file, encoding=encoding, delimiter=delimiter, sheet=sheet,
                max_errors=settings.max_errors, skip_invalid=skip_invalid, progress=report,
            )
        except ReadError as exc:
            _fail(str(exc), code=2)
    raise AssertionError("unreachable")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:>10}"), BarColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), console=console, transient=False,
        disable=not console.is_terminal,
    )


def _print_report(report: Any, fmt: str) -> None:
    if fmt == "json":
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    if not report.issues:
        console.print(f"[green]{report.file}: {report.rows_read} rows, no problems[/]")
        return
    table = Table(title=f"{report.file}: {len(report.errors)} error(s), "
                        f"{len(report.warnings)} warning(s)"
                        + (" [truncated]" if report.truncated else ""))
    for column in ("severity", "row", "column", "value", "rule", "message"):
        table.add_column(column, overflow="fold")
    for issue in report.issues[:500]:
        colour = "red" if issue.severity == "error" else "yellow"
        table.add_row(f"[{colour}]{issue.severity}[/]", str(issue.row or ""),
                      issue.column or "", (issue.value or "")[:40], issue.rule, issue.message)
    console.print(table)
    if len(report.issues) > 500:
        console.print(f"... {len(report.issues) - 500} more; use --report json for all")


EncodingOpt = Annotated[str | None, typer.Option(
    help="Source encoding (utf-8, utf-8-sig, cp932, shift_jis, euc_jp); detected when omitted.")]
DelimiterOpt = Annotated[str | None, typer.Option(
    help="Field delimiter; sniffed among , TAB ; | when omitted.")]
SheetOpt = Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first).")]
ReportOpt = Annotated[str, typer.Option(
    "--report", help="Report format: 'table' (readable) or 'json' (for machines, on stdout).")]


@app.command("validate")
def validate_cmd(
    dataset_id: Annotated[str, typer.Argument(help="Dataset id (a folder under datasets/).")],
    file: Annotated[Path, typer.Argument(help="CSV or XLSX file to check.")],
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    sheet: SheetOpt = None,
    report_format: ReportOpt = "table",
) -> None:
    """Check FILE against DATASET_ID's schema without touching the database.

    Exits 0 when the file is valid, 1 with a report (file, row, column, value, rule) otherwise.

    Example: [bold]hub validate kobe-aed aed_kobe_20141128-sjis.csv --report json[/]
    """
    settings = _settings()
    _definition, prepared = _prepare(dataset_id, file, encoding, delimiter, sheet, False, settings)
    _print_report(prepared.report, report_format)
    if not prepared.report.ok:
        raise typer.Exit(1)


@app.command("publish")
def publish_cmd(
    dataset_id: Annotated[str, typer.Argument(help="Dataset id (a folder under datasets/).")],
    file: Annotated[Path, typer.Argument(help="CSV or XLSX file to publish.")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Validate and show what would be published; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Publish the valid rows only and report the skipped ones.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Publish even when the content equals the current version.")] = False,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    sheet: SheetOpt = None,
    report_format: ReportOpt = "table",
) -> None:
    """Validate FILE and publish it as the next immutable version of DATASET_ID.

    Nothing is half-published: on any error the previous version keeps serving and no trace
    of the new one remains. Exits 1 with a report when the file has errors.

    Examples:

      [bold]hub publish kobe-aed datasets/kobe-aed/aed_kobe_20141128-sjis.csv[/]

      [bold]hub publish kobe-aed new.csv --dry-run --report json[/]

      [bold]hub publish kobe-aed new.csv --skip-invalid[/]
    """
    from etl.publish import publish
    from hub.db.engine import make_engine

    settings = _settings()
    _definition, prepared = _prepare(dataset_id, file, encoding, delimiter, sheet,
                                     skip_invalid, settings)
    report = prepared.report
    if report.issues or report_format == "json":
        _print_report(report, report_format)
    if not report.ok and not skip_invalid:
        console.print("[bold red]not published[/]: fix the errors above, or use --skip-invalid")
        raise typer.Exit(1)
    if dry_run:
        from etl.sources import row_count

        console.print(f"[bold]dry run[/]: {row_count(prepared)} rows would be published "
                      f"({report.rows_skipped} skipped); nothing written")
        return
    engine = make_engine(settings)
    try:
        with _progress() as progress:
            task = progress.add_task("load", total=1)

            def report_progress(stage: str, done: int, total: int) -> None:
                if stage == "load":
                    progress.update(task, completed=done, total=max(total, 1))

            result = publish(engine, prepared, publisher=settings.publisher, force=force,
                             progress=report_progress)
    except Exception as exc:  # the transaction has rolled back; say so plainly
        _fail(f"publish failed, nothing was published: {exc}")
    finally:
        engine.dispose()
    if report_format == "json":
        out.print_json(json.dumps(result.to_dict(), ensure_ascii=False))
    elif result.unchanged:
        console.print(f"[yellow]unchanged[/]: {dataset_id} already has this exact content "
                      "(use --force to publish it again)")
    else:
        changes = result.change_summary
        console.print(
            f"[green]published[/] {dataset_id} version {result.version}: "
            f"{result.row_count} rows (+{changes.get('added')} -{changes.get('removed')} "
            f"~{changes.get('changed')}), sha256 {result.content_sha256[:12]}"
        )


# -- serve / demo -----------------------------------------------------------------------------


@app.command("serve")
def serve_cmd(
    host: Annotated[str | None, typer.Option(help="Listen address (HUB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (HUB_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    _print_urls(host, port)
    if workers > 1:
        uvicorn.run("hub.api.asgi:app", host=host, port=port, workers=workers, factory=False)
    else:
        from hub.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port)


def _print_urls(host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    out.print(f"\n[bold]Co-Creation Hub[/] on {base}\n  try:")
    for path in ("/v1/datasets", "/v1/datasets/kobe-aed/records?limit=5",
                 "/v1/datasets/kobe-aed/records?near=34.69,135.195&radius=500&f=geojson",
                 "/docs"):
        out.print(f"    {base}{path}")
    out.print()


@app.command("demo")
def demo_cmd(
    serve: Annotated[bool, typer.Option(help="Start serving after loading.")] = True,
) -> None:
    """Start the embedded database, publish every dataset under datasets/, then serve.

    Idempotent: datasets whose content is unchanged are not published again.
    """
    from etl.sources import prepare_source

    from etl.publish import publish
    from hub.catalog import load_definitions
    from hub.db.engine import make_engine

    db_up()
    settings = _settings()
    definitions = load_definitions(settings.datasets_dir, settings.schemas_dir)
    engine = make_engine(settings)
    failures = 0
    try:
        for dataset_id, definition in definitions.items():
            source = definition.source.get("file")
            if not source:
                console.print(f"[yellow]skip[/] {dataset_id}: no [source] file in dataset.toml")
                continue
            prepared = prepare_source(definition, definition.directory / source,
                               max_errors=settings.max_errors,
                               skip_invalid=bool(definition.source.get("skip_invalid", False)))
            if not prepared.report.ok and not prepared.report.rows_skipped:
                failures += 1
                console.print(f"[red]invalid[/] {dataset_id}: {len(prepared.report.errors)} "
                              f"error(s); run `hub validate {dataset_id} ...` for the report")
                continue
            result = publish(engine, prepared, publisher="demo")
            state = "unchanged" if result.unchanged else f"version {result.version}"
            console.print(f"[green]{dataset_id}[/]: {result.row_count} rows, {state}")
    finally:
        engine.dispose()
    if failures:
        console.print(f"[yellow]{failures} dataset(s) could not be published[/]")
    if serve:
        serve_cmd(host=None, port=None, workers=1)


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
