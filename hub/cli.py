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
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from hub.cli_contributions import (
    city_source,
    contributions_app,
    load_example_contributions,
    publish_contributions_cmd,
)
from hub.cli_datasets import datasets_app
from hub.cli_people import audit_cmd, keys_app, record_operator_write
from hub.cli_replicas import replica_app
from hub.cli_stats import stats_cmd
from hub.people.audit import AuditEntry
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
db_app.add_typer(replica_app, name="replica")
app.add_typer(keys_app, name="keys")
app.add_typer(datasets_app, name="datasets")
app.command("stats")(stats_cmd)
app.command("audit")(audit_cmd)
app.add_typer(contributions_app, name="contributions")
app.command("publish-contributions")(publish_contributions_cmd)

console = Console(stderr=True)
out = Console()


def _settings() -> Settings:
    return Settings()


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


# -- db -------------------------------------------------------------------------------------


@db_app.command("up")
def db_up() -> None:
    """Create (first time) and start the embedded PostGIS cluster, then run migrations and
    refold search text written by older folding rules (`hub db refold`).

    Does nothing to the cluster when HUB_DATABASE_URL is set (it only migrates that database).
    Safe to run repeatedly.
    """
    from hub.db.cluster import ClusterError
    from hub.db.engine import database_url, local_cluster
    from hub.db.migrate import upgrade
    from hub.db.replicas import list_replicas
    from hub.db.roles import API_ROLE, PUBLISH_ROLE, Role

    settings = _settings()
    try:
        if not settings.database_url:
            cluster = local_cluster(settings)
            console.print(f"starting embedded PostgreSQL in [bold]{cluster.root}[/] "
                          f"on 127.0.0.1:{cluster.port} ...")
            cluster.start()
            _ensure_database(cluster.url("postgres"), settings.db_name)
            for replica in list_replicas(cluster):
                replica.start()
        upgrade(database_url(settings, Role.MIGRATE))
        if not settings.database_url:
            cluster.enable_logins((API_ROLE, PUBLISH_ROLE))  # roles made by the migrations
    except ClusterError as exc:
        _fail(str(exc))
    console.print("[green]database ready[/] (migrations applied)")
    db_refold()


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
    """Stop the embedded cluster and its replicas (data is kept; `hub db up` starts them
    again)."""
    from hub.db.engine import local_cluster
    from hub.db.replicas import list_replicas

    settings = _settings()
    if settings.database_url:
        _fail("HUB_DATABASE_URL is set: the hub does not manage that server")
    cluster = local_cluster(settings)
    for replica in list_replicas(cluster):
        replica.stop()
    cluster.stop()
    console.print("embedded PostgreSQL stopped")


@db_app.command("status")
def db_status() -> None:
    """Say whether the database is reachable and which migration it is at."""
    from hub.db.engine import database_url, local_cluster
    from hub.db.migrate import current_revision
    from hub.db.roles import Role

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
    revision = current_revision(database_url(settings, Role.MIGRATE))
    out.print(f"migration: {revision or 'none (run hub db up)'}")


@db_app.command("url")
def db_url(
    role: Annotated[str, typer.Option(
        help="Whose URL: migrate (the schema owner, for psql), publish or api.")] = "migrate",
) -> None:
    """Print a database URL (contains a password: keep it private)."""
    from hub.db.engine import database_url
    from hub.db.roles import Role

    try:
        chosen = Role(role)
    except ValueError:
        _fail(f"--role must be one of {', '.join(r.value for r in Role)}, not {role!r}")
    out.print(database_url(_settings(), chosen), soft_wrap=True)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply catalogue migrations (Alembic) up to the newest revision, then refold search
    text written by older folding rules (`hub db refold`)."""
    from hub.db.engine import database_url
    from hub.db.migrate import upgrade
    from hub.db.roles import Role

    upgrade(database_url(_settings(), Role.MIGRATE))
    console.print("[green]migrations applied[/]")
    db_refold()


@db_app.command("refold")
def db_refold() -> None:
    """Rewrite search text folded by older rules: after an upgrade that changed
    hub/textfold.py or schemas/search-synonyms.toml (docs/architecture.md, "Search folding").
    Versions already folded by the current rules are left alone."""
    from etl.refold import refold
    from hub.db.engine import make_engine

    engine = make_engine(_settings())
    try:
        result = refold(engine, progress=lambda dataset, number: console.print(
            f"refolded {dataset} version {number}"))
    finally:
        engine.dispose()
    if result.datasets or result.versions:
        console.print(f"[green]search text refolded[/]: {result.datasets} dataset(s) in the "
                      f"catalogue, {len(result.versions)} version(s) ({result.rows} rows)")


@db_app.command("gc")
def db_gc() -> None:
    """Drop staging tables left by publishes that were killed before they registered their
    version (each publish also does this first). A publish still running keeps its own."""
    from hub.db.engine import make_engine
    from hub.db.staging import drop_orphaned_staging

    engine = make_engine(_settings())
    try:
        dropped = drop_orphaned_staging(engine)
    finally:
        engine.dispose()
    for name in dropped:
        console.print(f"dropped staging table data.{name}")
    console.print(f"[green]gc[/]: {len(dropped)} orphaned staging table(s) dropped")


# -- validate / publish ----------------------------------------------------------------------


def _definition(dataset_id: str, file: Path, settings: Settings,
                on_invalid_optional: str | None = None) -> Any:
    """The dataset's definition, FILE checked to exist and ``--on-invalid-optional`` checked
    against the policies preparation knows (exit 2 otherwise)."""
    from hub.catalog import INVALID_OPTIONAL_POLICIES, DefinitionError, load_definition

    if on_invalid_optional is not None and on_invalid_optional not in INVALID_OPTIONAL_POLICIES:
        _fail(f"--on-invalid-optional {on_invalid_optional!r} is not one of "
              f"{', '.join(INVALID_OPTIONAL_POLICIES)}", code=2)
    try:
        definition = load_definition(dataset_id, settings.datasets_dir, settings.schemas_dir)
    except DefinitionError as exc:
        _fail(str(exc), code=2)
    if not file.exists():
        _fail(f"{file}: no such file", code=2)
    return definition


def _stage_progress(progress: Progress) -> Any:
    """A progress callback showing one bar per stage (read, normalise, validate, load)."""
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=max(total, 1))
        progress.update(tasks[stage], completed=done, total=max(total, 1))

    return report


def _prepare(dataset_id: str, file: Path, encoding: str | None, delimiter: str | None,
             sheet: str | None, settings: Settings, on_invalid_optional: str | None) -> Any:
    from etl.read import ReadError
    from etl.read_limits import ReadLimits
    from etl.sources import prepare_source

    definition = _definition(dataset_id, file, settings, on_invalid_optional)
    with _progress() as progress:
        try:
            return prepare_source(
                definition, file, encoding=encoding, delimiter=delimiter, sheet=sheet,
                max_errors=settings.max_errors, on_invalid_optional=on_invalid_optional,
                progress=_stage_progress(progress), read_limits=ReadLimits.from_settings(settings),
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
    """The report as JSON (stdout), as plain grep-friendly lines when stderr is not a
    terminal (logs, CI: no table cut into wrapped cells), else as a table. Text from the file
    and from messages is never read as rich markup (``[columns]`` stays ``[columns]``)."""
    if fmt == "json":
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    summary = (f"{report.file}: {report.rows_read} rows, {len(report.errors)} error(s), "
               f"{len(report.warnings)} warning(s)" + (", truncated" if report.truncated else ""))
    if not console.is_terminal:
        for issue in report.issues:
            _plain(report_line(issue))
        _plain(summary)
        return
    if not report.issues:
        console.print(f"[green]{escape(report.file)}: {report.rows_read} rows, no problems[/]")
        return
    table = Table(title=escape(summary))
    many_files = len({issue.file for issue in report.issues}) > 1  # e.g. a GTFS feed
    columns = ("severity", "file", "row", "column", "value", "rule", "message")
    for column in columns if many_files else tuple(c for c in columns if c != "file"):
        table.add_column(column, overflow="fold")
    for issue in report.issues[:500]:
        colour = "red" if issue.severity == "error" else "yellow"
        cells = [f"[{colour}]{issue.severity}[/]", *(escape(c) for c in (
            issue.file, str(issue.row or ""), issue.column or "", (issue.value or "")[:40],
            issue.rule, issue.message))]
        table.add_row(*(cells if many_files else cells[:1] + cells[2:]))
    console.print(table)
    if len(report.issues) > 500:
        console.print(f"... {len(report.issues) - 500} more; use --report json for all")


def _not_published(reason: str) -> None:
    """The pipeline's refusal, after the report and in its style: a plain line off a
    terminal, else red; the reason is never read as markup (it may quote the file)."""
    if console.is_terminal:
        console.print(f"[bold red]not published[/]: {escape(reason)}")
    else:
        _plain(f"not published: {reason}")


def report_line(issue: Any) -> str:
    """One issue as ``file:row:column: severity: rule: message (value)``, the shape compilers
    and linters print, so editors and grep can jump to it (file-level issues have no row)."""
    where = ":".join(str(part) for part in (issue.file, issue.row, issue.column) if part)
    value = "" if issue.value is None else f" (value: {issue.value!r})"
    return f"{where}: {issue.severity}: {issue.rule}: {issue.message}{value}"


def _plain(line: str) -> None:
    """One line as it is: no markup, highlighting or wrapping."""
    console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)


EncodingOpt = Annotated[str | None, typer.Option(
    help="Source encoding (utf-8, utf-8-sig, cp932, shift_jis, euc_jp); detected when omitted.")]
DelimiterOpt = Annotated[str | None, typer.Option(
    help="Field delimiter; sniffed among , TAB ; | when omitted.")]
SheetOpt = Annotated[str | None, typer.Option(help="XLSX sheet name (default: the first).")]
OnInvalidOptionalOpt = Annotated[str | None, typer.Option(
    "--on-invalid-optional",
    help="An invalid cell in an optional column: 'null' empties it with a warning and keeps "
    "the row; 'drop-row' makes it an error of the row (dropped with --skip-invalid); "
    "'refuse' refuses the file even with --skip-invalid. Default: the dataset's "
    "on_invalid_optional (else drop-row). Required fields and the key always drop or refuse.",
    show_default=False)]
ReportOpt = Annotated[str, typer.Option(
    "--report", help="Report format: 'table' (readable) or 'json' (for machines, on stdout).")]


@app.command("validate")
def validate_cmd(
    dataset_id: Annotated[str, typer.Argument(help="Dataset id (a folder under datasets/).")],
    file: Annotated[Path, typer.Argument(
        help="CSV or XLSX file to check (a GTFS zip or folder for format = \"gtfs\").")],
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    sheet: SheetOpt = None,
    on_invalid_optional: OnInvalidOptionalOpt = None,
    report_format: ReportOpt = "table",
) -> None:
    """Check FILE against DATASET_ID's schema without touching the database.

    Exits 0 when the file is valid, 1 with a report (file, row, column, value, rule) otherwise.

    Example: [bold]hub validate kobe-aed aed_kobe_20141128-sjis.csv --report json[/]
    """
    settings = _settings()
    prepared = _prepare(dataset_id, file, encoding, delimiter, sheet, settings,
                        on_invalid_optional)
    _print_report(prepared.report, report_format)
    if not prepared.report.ok:
        raise typer.Exit(1)


@app.command("publish")
def publish_cmd(
    dataset_id: Annotated[str, typer.Argument(help="Dataset id (a folder under datasets/).")],
    file: Annotated[Path, typer.Argument(
        help="CSV or XLSX file to publish (a GTFS zip or folder for format = \"gtfs\").")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Validate and show what would be published; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Publish the valid rows only and report the skipped ones.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Publish even when the content equals the current version.")] = False,
    with_files: Annotated[bool, typer.Option(
        "--with-files", help="Also write the version's bulk files (CSV, GeoJSON, Parquet, "
        "GPKG) before returning; by default the first download or `hub export` builds them."
    )] = False,
    encoding: EncodingOpt = None,
    delimiter: DelimiterOpt = None,
    sheet: SheetOpt = None,
    on_invalid_optional: OnInvalidOptionalOpt = None,
    report_format: ReportOpt = "table",
) -> None:
    """Validate FILE and publish it as the next immutable version of DATASET_ID.

    Nothing is half-published: on any error the previous version keeps serving and no trace
    of the new one remains. Exits 1 with a report when the file has errors. The version is
    served as soon as it is committed; its bulk files are built on the first download (or by
    `hub export`), so a large publish does not wait for them unless --with-files is given.

    Examples:

      [bold]hub publish kobe-aed datasets/kobe-aed/aed_kobe_20141128-sjis.csv[/]

      [bold]hub publish kobe-aed new.csv --dry-run --report json[/]

      [bold]hub publish kobe-aed new.csv --skip-invalid[/]
    """
    from etl.pipeline import FileSource, publish_dataset
    from etl.read import ReadError
    from hub.cocreation.publishing import failed_publish_audit, publish_audit, publish_options
    from hub.db.engine import make_engine

    settings = _settings()
    definition = _definition(dataset_id, file, settings, on_invalid_optional)
    options = publish_options(settings, dry_run=dry_run, force=force,
                              skip_invalid=skip_invalid,
                              on_invalid_optional=on_invalid_optional)
    engine = make_engine(settings)
    try:
        with _progress() as progress:
            outcome = publish_dataset(
                definition, city_source(definition, FileSource(file, encoding, delimiter,
                                                               sheet), engine), options,
                engine=engine, publisher=settings.publisher,
                progress=_stage_progress(progress),
                after_publish=_chained(
                    _bulk_files_hook(settings, engine, progress) if with_files else None,
                    _ckan_after_publish(settings, engine)))
    except ReadError as exc:
        _fail(str(exc), code=2)
    except Exception as exc:  # the transaction has rolled back; say so plainly
        _record_publish(settings, failed_publish_audit(dataset_id, file.name, str(exc)))
        _fail(f"publish failed, nothing was published: {exc}")
    finally:
        engine.dispose()
    report = outcome.report
    if report.issues or report_format == "json":
        _print_report(report, report_format)
    if outcome.refused is not None:
        _not_published(outcome.refused)
        raise typer.Exit(1)
    if dry_run:
        console.print(f"[bold]dry run[/]: {outcome.row_count} rows would be published "
                      f"({report.rows_skipped} skipped); nothing written")
        return
    result = outcome.result
    assert result is not None
    _record_publish(settings, publish_audit(outcome))
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


def _record_publish(settings: Settings, audit: Any) -> None:
    from hub.cocreation.publishing import PUBLISH_ACTION

    _record_audit(settings, PUBLISH_ACTION, audit)


def _record_audit(settings: Settings, action: str, audit: Any) -> None:
    """The audit entry hub.cocreation.publishing names for a publish or withdrawal, as the
    local operator (the HTTP routes write the same entry as the calling key)."""
    record_operator_write(settings, AuditEntry.by_operator(
        action, audit.object_type, audit.object_id, audit.result, **audit.detail))


# -- bulk files / withdraw --------------------------------------------------------------------


def _bulk_files_hook(settings: Settings, engine: Any, progress: Progress | None) -> Any:
    """after_publish hook: write the new version's bulk files once the publish has committed
    (a failed publish never gets here; if this fails, the first download rebuilds them).

    Used by `hub demo` and `hub publish --with-files` only: for a large table the files take
    longer than the publish itself (GeoPackage and GeoJSON of 1M rows), and the lazy path
    in hub/api/downloads.py builds them on the first request anyway."""

    def write(result: Any) -> None:
        _ensure_files(settings, engine, result.dataset_id, result.version, progress)

    return write


def _ensure_files(settings: Settings, engine: Any, dataset_id: str, number: int | None,
                  progress: Progress | None) -> tuple[Any, Any, Any]:
    from hub.data import Data
    from hub.export import exporter_for

    data = Data(engine)
    version = data.version(dataset_id, number)
    exporter = exporter_for(settings, engine)
    task = None

    def report(label: str, done: int, total: int) -> None:
        nonlocal task
        if progress is None:
            return
        if task is None:
            task = progress.add_task("files", total=total)
        progress.update(task, completed=done, total=total, description=f"files {label}"[:40])

    manifest = exporter.ensure(data.dataset(dataset_id), version, progress=report)
    return exporter, version, manifest


@app.command("export")
def export_cmd(
    dataset_id: Annotated[str, typer.Argument(help="Dataset id.")],
    file_format: Annotated[str, typer.Option(
        "--format", "-f",
        help="csv, excel.csv, geojson, parquet, gpkg or zip (Frictionless Data Package).")],
    version: Annotated[int | None, typer.Option(
        "--version", help="Version number (default: the current version).")] = None,
    layer: Annotated[str | None, typer.Option(
        help="A layer of a multi-layer version (csv, excel.csv, geojson, parquet).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Where to write (default: e.g. ./kobe-aed-v3.csv).")] = None,
) -> None:
    """Write a version's bulk file: the same bytes as the download URL serves.

    Files are built into the artifact store (HUB_ARTIFACT_DIR) when missing, then copied.

    Example: [bold]hub export kobe-aed --format parquet --output aed.parquet[/]
    """
    from hub.data import Gone, NotFound
    from hub.db.engine import make_engine
    from hub.export import FORMATS
    from hub.export.formats import version_group

    if file_format not in FORMATS:
        _fail(f"unknown format {file_format!r}; formats: {', '.join(FORMATS)}", code=2)
    settings = _settings()
    engine = make_engine(settings)
    try:
        with _progress() as progress:
            exporter, published, manifest = _ensure_files(settings, engine, dataset_id, version,
                                                          progress)
        key = None if layer in (None, published.main_layer) else layer
        artifact = manifest.find(file_format, key)
        if artifact is None:
            _fail(f"version {published.version} of {dataset_id} has no {file_format} file"
                  + (f" for layer {layer!r}; layers: {', '.join(published.layer_names)}"
                     if layer else ""), code=2)
        target = output or Path(artifact.filename)
        group = version_group(dataset_id, published.version)
        with target.open("wb") as handle:
            for chunk in exporter.store.open_range(group, artifact.name):
                handle.write(chunk)
    except (NotFound, Gone) as exc:
        _fail(str(exc) + (f": {exc.reason}" if isinstance(exc, Gone) and exc.reason else ""),
              code=2)
    finally:
        engine.dispose()
    console.print(f"[green]wrote[/] {target} ({artifact.bytes} bytes, sha256 {artifact.sha256})")


@app.command("withdraw")
def withdraw_cmd(
    dataset_id: Annotated[str, typer.Argument(help="Dataset id.")],
    version: Annotated[int, typer.Argument(help="Version number to withdraw.")],
    reason: Annotated[str, typer.Option(help="Why; shown with every 410 Gone answer.")],
) -> None:
    """Withdraw a version: its pinned URLs answer 410 Gone with the reason, its metadata stays
    listed, its bulk files are deleted, and `latest` moves back to the newest version left.

    Example: [bold]hub withdraw kobe-aed 3 --reason "contained personal phone numbers"[/]
    """
    from hub.cocreation.publishing import (
        WITHDRAW_ACTION,
        WithdrawRefused,
        withdraw_audit,
        withdraw_version,
    )
    from hub.db.engine import make_engine

    settings = _settings()
    engine = make_engine(settings)
    try:
        result = withdraw_version(settings, engine, dataset_id, version, reason)
    except WithdrawRefused as exc:
        _record_audit(settings, WITHDRAW_ACTION,
                      withdraw_audit(dataset_id, version, reason, error=str(exc)))
        _fail(str(exc), code=2)
    finally:
        engine.dispose()
    _record_audit(settings, WITHDRAW_ACTION, withdraw_audit(dataset_id, version, reason))
    current = result.current_version
    console.print(f"[yellow]withdrawn[/] {dataset_id} version {version}; latest is now "
                  + (f"version {current}" if current else "none (no published version left)"))


# -- serve / demo -----------------------------------------------------------------------------


@app.command("serve")
def serve_cmd(
    host: Annotated[str | None, typer.Option(help="Listen address (HUB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (HUB_PORT).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs).

    With --workers N, N processes share the port; what they share and how is in
    docs/scaling.md ("Workers and HTTP cache"): quotas need HUB_RATE_LIMIT_STORAGE=redis://...
    (a warning says so otherwise), webhooks and cache purges are claimed with SKIP LOCKED.
    """
    import uvicorn

    from hub.api.ratelimit import unshared_quota_warning

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    _print_urls(host, port)
    warning = unshared_quota_warning(settings, workers)
    if warning:
        console.print(f"[bold yellow]warning:[/] {escape(warning)}")
    if workers > 1:
        uvicorn.run("hub.api.asgi:app", host=host, port=port, workers=workers, factory=False)
    else:
        from hub.api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port)


@app.command("serve-cached")
def serve_cached_cmd(
    workers: Annotated[int, typer.Option(help="Hub worker processes behind Varnish.")] = 2,
    backend_port: Annotated[int | None, typer.Option(
        help="Port of the hub's workers (default: HUB_PORT + 1); Varnish listens on "
        "HUB_PORT.")] = None,
    vcl: Annotated[Path, typer.Option(help="Varnish configuration.")] = Path(
        "deploy/varnish/hub.vcl"),
    cache_mb: Annotated[int, typer.Option(help="Varnish's memory for cached answers.")] = 256,
) -> None:
    """Serve the hub behind Varnish: varnishd on HUB_PORT (127.0.0.1) in front of `hub serve
    --workers N` on another port, with HUB_HTTP_CACHE_PURGE_URLS pointing at that Varnish so
    every publish and withdrawal bans what it changed (docs/scaling.md). Ctrl-C stops both.
    """
    import os
    import signal
    import subprocess

    from hub.http_cache.varnish import VarnishError, start_varnish

    def stop_on_sigterm(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # leave through the finally blocks: both children stop

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    settings = _settings()
    backend = backend_port or settings.port + 1
    env = {**os.environ, "HUB_PORT": str(backend)}
    env.setdefault("HUB_HTTP_CACHE_PURGE_URLS", f"http://127.0.0.1:{settings.port}/")
    hub = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--host", "127.0.0.1",
                            "--port", str(backend), "--workers", str(workers)], env=env)
    try:
        try:
            varnish = start_varnish(vcl, settings.port, backend, storage=f"malloc,{cache_mb}m")
        except VarnishError as exc:
            _fail(str(exc))
        console.print(f"[bold]Varnish[/] on http://127.0.0.1:{settings.port}/ in front of "
                      f"{workers} hub worker(s) on port {backend}")
        try:
            hub.wait()
        except KeyboardInterrupt:
            pass
        finally:
            varnish.stop()
    finally:
        hub.terminate()
        hub.wait(timeout=30)


def _print_urls(host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    out.print(f"\n[bold]Co-Creation Hub[/] on {base}")
    out.print(f"  portal (open in a browser): [bold]{base}/[/]\n  API, try:")
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
    from etl.pipeline import FileSource, PublishOptions, publish_dataset
    from etl.read_limits import ReadLimits
    from etl.ridership import publication_order
    from hub.catalog import load_definitions
    from hub.db.engine import make_engine

    settings = _settings()
    if serve:
        console.print(f"[bold]Portal:[/] http://{settings.host}:{settings.port}/ "
                      "(serving once the datasets below are loaded)")
    db_up()
    definitions = load_definitions(settings.datasets_dir, settings.schemas_dir)
    engine = make_engine(settings)
    failures = 0
    staff_key = _demo_staff_key(settings, engine)
    try:
        for dataset_id in publication_order(definitions):
            definition = definitions[dataset_id]
            source = definition.source.get("file")
            if not source:
                console.print(f"[yellow]skip[/] {dataset_id}: no \\[source] file in dataset.toml")
                continue
            options = PublishOptions(
                skip_invalid=bool(definition.source.get("skip_invalid", False)),
                max_errors=settings.max_errors, read_limits=ReadLimits.from_settings(settings))
            outcome = publish_dataset(
                definition, city_source(definition, FileSource(definition.directory / source),
                                        engine), options, engine=engine,
                publisher="demo",
                after_publish=_chained(_bulk_files_hook(settings, engine, None),
                                       _ckan_after_publish(settings, engine)))
            if outcome.refused is not None:
                failures += 1
                console.print(f"[red]invalid[/] {dataset_id}: {escape(outcome.refused)}; "
                              f"run `hub validate {dataset_id} ...` for the report")
                continue
            state = "unchanged" if outcome.status == "unchanged" else f"version {outcome.version}"
            console.print(f"[green]{dataset_id}[/]: {outcome.row_count} rows, {state}")
        examples = load_example_contributions(settings, engine)
        if examples:
            console.print(f"[green]contributions[/]: {examples} example(s) waiting for a "
                          "moderator (hub contributions list)")
        _load_cocreation_examples(engine, settings)
    finally:
        engine.dispose()
    if failures:
        console.print(f"[yellow]{failures} dataset(s) could not be published[/]")
    console.print(staff_key, markup=False, highlight=False, soft_wrap=True)
    if serve:
        serve_cmd(host=None, port=None, workers=1)


def _demo_staff_key(settings: Settings, engine: Any) -> str:
    """Print the demo's staff key (issued once, kept under the data directory) and return
    the line, to print again before serving."""
    from hub.cli_demo import demo_key_path, demo_staff_key

    token, issued = demo_staff_key(settings, engine)
    state = "issued now" if issued else "kept from an earlier demo"
    line = (f"Staff key (sign in at http://{settings.host}:{settings.port}/signin): {token} "
            f"({state}; in {demo_key_path(settings)}, readable by you only)")
    console.print(line, markup=False, highlight=False, soft_wrap=True)
    return line


def _load_cocreation_examples(engine: Any, settings: Settings) -> None:
    """The demo's example requests and showcase (marked as examples), once."""
    import tomllib
    from functools import partial

    from hub.data import Data, NotFound
    from hub.data.cocreation import EXAMPLES_FILE, Actor, CoCreation, load_examples
    from hub.people.audit import AuditEntry

    data = Data(engine)

    def current_version(dataset_id: str) -> int | None:
        try:
            return data.dataset(dataset_id)["current_version"]
        except NotFound:  # a dataset the demo could not publish: its showcase is skipped
            return None

    examples = tomllib.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    actor = Actor(None, "demo", partial(AuditEntry.by_operator))
    stored = load_examples(CoCreation(engine, settings.cocreation_pending_per_key), examples,
                           actor, current_version)
    state = f"{stored} example item(s) loaded" if stored else "examples already loaded"
    console.print(f"[green]co-creation[/]: {state}")


# -- ckan -------------------------------------------------------------------------------------

ckan_app = typer.Typer(
    help="Mirror the catalogue into a CKAN instance (push), or import from one (pull). "
    "See docs/ckan-sync.md.",
    no_args_is_help=True,
)
app.add_typer(ckan_app, name="ckan")

CkanUrlOpt = Annotated[str | None, typer.Option(
    "--url", help="CKAN site, e.g. https://data.city.example (default: HUB_CKAN_URL).")]
CkanKeyOpt = Annotated[str | None, typer.Option(
    "--api-key", help="CKAN API token (default: HUB_CKAN_API_KEY; prefer the variable, "
    "command lines are visible to other users). Never printed.", show_default=False)]
STATUS_COLOURS = {"ok": "green", "unchanged": "dim", "planned": "cyan", "conflict": "yellow",
                  "failed": "red", "published": "green", "imported": "green", "exists": "dim",
                  "skipped": "dim"}


def _chained(*hooks: Any) -> Any:
    """One after_publish hook running several in order (each one guarded by the publish)."""
    present = [h for h in hooks if h is not None]
    if not present:
        return None

    def run(result: Any) -> None:
        for hook in present:
            try:
                hook(result)
            except Exception as exc:  # one failing hook must not skip the next
                console.print(f"[yellow]after-publish step failed[/]: {exc}")

    return run


def _artifact_lister(settings: Settings, engine: Any, build: bool = True) -> Any:
    """hub.export's bulk files of a version (size + sha256), or None when unavailable.

    ``build=False`` (dry runs) lists only files already built and writes nothing."""
    try:
        from hub.data import Data
        from hub.export import exporter_for, version_artifacts
    except ImportError:  # pragma: no cover - bulk files not part of this build
        return None
    exporter = exporter_for(settings, engine)
    data = Data(engine)

    def list_files(_row: dict[str, Any], version: Any) -> Any:
        if not build:
            manifest = exporter.manifest(version)
            return list(manifest.artifacts) if manifest else []
        return version_artifacts(exporter, data.dataset(version.dataset_id), version)

    return list_files


def _ckan_after_publish(settings: Settings, engine: Any) -> Any:
    """The publish hook pushing the new version to CKAN (HUB_CKAN_PUSH_ON_PUBLISH), or None."""
    if not settings.ckan_push_on_publish:
        return None

    def push_new_version(result: Any) -> None:
        from etl.ckan.sync import push_after_publish

        report = push_after_publish(settings, engine, result.dataset_id,
                                    artifacts=_artifact_lister(settings, engine))
        if report is not None and report.ok:
            console.print(f"[green]pushed[/] {result.dataset_id} to CKAN")
        else:
            console.print(f"[yellow]CKAN push of {result.dataset_id} failed[/] (recorded in "
                          "hub.ckan_sync; `hub ckan push` retries it); the publish stands")

    return push_new_version


def _describe_item(item: Any) -> str:
    colour = STATUS_COLOURS.get(item.status, "white")
    details = "; ".join(item.changes) if item.changes else ""
    message = item.message or ""
    text = " — ".join(p for p in (details, message) if p)
    action = "" if item.action == item.status else item.action
    return (f"[{colour}]{item.status:>9}[/] {action:<9} {item.kind:<12} "
            f"[bold]{item.name}[/]" + (f"  {text}" if text else ""))


@ckan_app.command("push")
def ckan_push_cmd(
    url: CkanUrlOpt = None,
    api_key: CkanKeyOpt = None,
    organization: Annotated[str | None, typer.Option(
        "--organization", help="Put every package into this CKAN organisation "
        "(default: HUB_CKAN_ORGANIZATION, else one per hub organisation).")] = None,
    dataset: Annotated[list[str] | None, typer.Option(
        "--dataset", help="Push only this dataset (repeatable); never deletes packages.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print the plan (create/update/unchanged/delete/conflict); "
        "write nothing.")] = False,
    output: Annotated[str, typer.Option(
        "--output", help="'text' (readable) or 'json' (the report, on stdout).")] = "text",
) -> None:
    """Make a CKAN instance mirror the catalogue: organisations, packages, resources, extras.

    Idempotent: a second push with nothing changed makes no write call. Only packages the hub
    created (extra hub_managed=true) are changed or deleted; a same-named package that is not
    the hub's is reported as a conflict. Exit code 0 when everything succeeded, 1 otherwise.

    Example: [bold]HUB_CKAN_API_KEY=... hub ckan push --url https://ckan.example --dry-run[/]
    """
    from pydantic import SecretStr

    from etl.ckan.sync import NotConfigured, make_client, run_push
    from hub.db.engine import make_engine

    settings = _settings()
    try:
        client = make_client(settings, url=url, api_key=SecretStr(api_key) if api_key else None)
    except NotConfigured as exc:
        _fail(str(exc), code=2)
    engine = make_engine(settings)
    text_output = output != "json"
    if text_output:
        console.print(f"{'planning' if dry_run else 'pushing'} to [bold]{client.url}[/]"
                      + (" (dry run: nothing is written)" if dry_run else ""))
    try:
        report = run_push(
            settings, engine, client, only=dataset or None, organisation=organization,
            dry_run=dry_run,
            artifacts=_artifact_lister(settings, engine, build=not dry_run),
            on_item=(lambda item: out.print(_describe_item(item), soft_wrap=True))
            if text_output else None,
        )
    finally:
        engine.dispose()
        client.close()
    if not text_output:
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        counts: dict[str, int] = {}
        for item in report.packages:
            key = item.action if item.status in ("ok", "planned", "unchanged") else item.status
            counts[key] = counts.get(key, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no datasets"
        writes = report.stats.writes
        if report.nothing_to_do and report.ok:
            console.print(f"[green]nothing to do[/]: CKAN already mirrors the hub "
                          f"({summary}; {writes} write calls)")
        elif dry_run:
            console.print(f"[bold]plan[/]: {summary}; nothing written ({writes} write calls)")
        else:
            console.print(f"[bold]done[/]: {summary}; {writes} write calls"
                          + (f", {report.stats.retries} retries" if report.stats.retries else ""))
    if not report.ok:
        raise typer.Exit(1)


@ckan_app.command("pull")
def ckan_pull_cmd(
    organization: Annotated[str, typer.Option(
        "--organization", help="CKAN organisation (name or id) whose packages to import.")],
    url: CkanUrlOpt = None,
    api_key: CkanKeyOpt = None,
    datasets_dir: Annotated[Path | None, typer.Option(
        help="Where dataset folders are written (default: HUB_DATASETS_DIR).")] = None,
    schemas_dir: Annotated[Path | None, typer.Option(
        help="Where generated schemas are written (default: HUB_SCHEMAS_DIR).")] = None,
    publish_: Annotated[bool, typer.Option(
        "--publish/--no-publish", help="Publish each imported dataset (default) or only "
        "write its files.")] = True,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what would be imported; download and write nothing.")] = False,
) -> None:
    """Import a CKAN organisation's packages (metadata + first CSV resource) as new datasets.

    Writes datasets/<id>/dataset.toml, the CSV, and a conservative Table Schema in schemas/,
    then publishes through the normal validate/publish path. Existing datasets are never
    overwritten. Exit code 0 when every package with a CSV was imported.

    Example: [bold]hub ckan pull --url https://ckan.city.example --organization city-of-x[/]
    """
    from pydantic import SecretStr

    from etl.ckan.client import CkanError
    from etl.ckan.pull import pull
    from etl.ckan.sync import NotConfigured, make_client
    from hub.db.engine import make_engine

    settings = _settings()
    try:
        client = make_client(settings, url=url, api_key=SecretStr(api_key) if api_key else None,
                             need_key=False)
    except NotConfigured as exc:
        _fail(str(exc), code=2)
    engine = make_engine(settings) if publish_ and not dry_run else None
    try:
        items = pull(
            client, organization,
            datasets_dir=datasets_dir or settings.datasets_dir,
            schemas_dir=schemas_dir or settings.schemas_dir,
            engine=engine, dry_run=dry_run, max_errors=settings.max_errors,
            on_item=lambda i: out.print(
                f"[{STATUS_COLOURS.get(i.status, 'white')}]{i.status:>9}[/] [bold]{i.package}"
                f"[/] -> {i.dataset_id}" + (f"  {i.message}" if i.message else ""),
                soft_wrap=True),
        )
    except CkanError as exc:
        _fail(f"cannot read organisation {organization!r} from {client.url}: {exc}")
    finally:
        if engine is not None:
            engine.dispose()
        client.close()
    failed = [i for i in items if i.status == "failed"]
    console.print(f"{len(items)} package(s): "
                  + ", ".join(f"{sum(1 for i in items if i.status == s)} {s}"
                              for s in sorted({i.status for i in items})))
    if failed:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
