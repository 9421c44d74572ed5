"""``hub contributions list|decide`` and ``hub publish-contributions``: moderation and the
publish of accepted contributions for someone with a shell on the server (``cli:<os user>``
in the audit log). The same rules and storage as the HTTP routes: ``hub.cocreation`` and
``hub.data.contributions``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.people.audit import AuditEntry, operator_actor
from hub.settings import Settings

contributions_app = typer.Typer(
    help="Community contributions to records: the moderation queue (see docs/cocreation.md).",
    no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _store(settings: Settings) -> Any:
    from hub.data.contributions import Contributions
    from hub.db.engine import make_engine

    return Contributions(make_engine(settings), settings.contributions_pending_per_key)


def _summary(row: dict[str, Any]) -> str:
    from hub.serialise.contributions import changes_side_by_side

    if row["kind"] == "correction":
        return "; ".join(f"{c['field']}: {c['old']!r} -> {c['new']!r}"
                         for c in changes_side_by_side(row))
    if row["kind"] == "removal":
        return f"remove: {row.get('reason')}"
    name = ", ".join(f"{k}={v}" for k, v in (row.get("proposed") or {}).items()
                     if v is not None)
    return name[:120]


@contributions_app.command("list")
def contributions_list(
    status: Annotated[str | None, typer.Option(
        help="pending, accepted, rejected or published (default: pending)")] = "pending",
    dataset: Annotated[str | None, typer.Option(help="Only this dataset's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    output: Annotated[str, typer.Option(help="table or json")] = "table",
) -> None:
    """The moderation queue; corrections show each field's old and new value."""
    from hub.serialise.contributions import contribution_json

    settings = Settings()
    store = _store(settings)
    try:
        rows = store.page(status=status, dataset=dataset, limit=limit)
    finally:
        store.engine.dispose()
    if output == "json":
        out.print_json(json.dumps([contribution_json(r, settings.public_url or "")
                                   for r in rows], ensure_ascii=False, default=str))
        return
    table = Table("id", "dataset", "kind", "key", "status", "change", "duplicates", "comment")
    for r in rows:
        table.add_row(str(r["id"]), r["dataset_id"], r["kind"], r["record_key"] or "",
                      r["status"], escape(_summary(r)), str(len(r["duplicates"] or [])),
                      escape(r["comment"][:60]))
    out.print(table)


@contributions_app.command("decide")
def contributions_decide(
    contribution_id: Annotated[int, typer.Argument(help="The contribution's id.")],
    decision: Annotated[str, typer.Argument(help="accept or reject")],
    reason: Annotated[str, typer.Option("--reason", help="Why (the contributor is told).")],
) -> None:
    """Accept or reject a pending contribution; audited and announced by webhook
    (contribution.decided) like the HTTP decision."""
    from hub.cocreation.contributions import decided_status
    from hub.cocreation.errors import Refused
    from hub.data.core import NotFound

    store = _store(Settings())
    try:
        row = store.get(contribution_id)
        status, text = decided_status(row["status"], decision, reason)
        decided = store.decide(contribution_id, status, text, operator_actor(),
                               lambda r: AuditEntry.by_operator(
                                   "contribution.decide", "contribution", str(r["id"]),
                                   dataset=r["dataset_id"], decision=status, reason=text))
    except (Refused, NotFound) as exc:
        _fail(getattr(exc, "detail", str(exc)))
    finally:
        store.engine.dispose()
    console.print(f"[green]{decided['status']}[/] contribution {contribution_id} "
                  f"({decided['dataset_id']})")


def publish_contributions_cmd(
    dataset_id: Annotated[str, typer.Argument(help="Dataset id.")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Apply and validate; publish nothing.")] = False,
) -> None:
    """Publish the current version plus every accepted contribution as the next version,
    through the one publish pipeline. Atomic; refused as a whole (exit 1, with the report)
    when the result fails validation."""
    from hub.catalog import DefinitionError, load_definition
    from hub.cocreation.contribution_publishing import publish_contributions
    from hub.cocreation.errors import Refused
    from hub.cocreation.publishing import PUBLISH_ACTION
    from hub.data import Data
    from hub.data.core import NotFound
    from hub.data.people import People

    settings = Settings()
    store = _store(settings)
    people = People(store.engine)

    def audit(entry: Any) -> None:
        people.record(AuditEntry.by_operator(PUBLISH_ACTION, entry.object_type,
                                             entry.object_id, entry.result, **entry.detail))

    try:
        definition = load_definition(dataset_id, settings.datasets_dir, settings.schemas_dir)
        version = Data(store.engine).version(dataset_id, None)
        outcome, ids = publish_contributions(definition, version, store,
                                             publisher=operator_actor(), audit=audit,
                                             dry_run=dry_run)
    except (Refused, NotFound, DefinitionError) as exc:
        _fail(getattr(exc, "detail", str(exc)))
    finally:
        store.engine.dispose()
    if outcome.refused is not None:
        for error in outcome.report.errors:
            console.print(f"{escape(error.file)}:{error.row}:{error.column}: error: "
                          f"{error.rule}: {escape(error.message)}")
        _fail(f"not published: {outcome.refused}")
    if outcome.status != "published":
        console.print(f"[yellow]{outcome.status}[/]: {outcome.row_count} rows, contributions "
                      f"{ids}")
        return
    changes = outcome.change_summary
    console.print(f"[green]published[/] {dataset_id} version {outcome.version}: "
                  f"{outcome.row_count} rows (+{changes.get('added')} -{changes.get('removed')} "
                  f"~{changes.get('changed')}) from contributions {ids}")


def city_source(definition: Any, file_source: Any, engine: Any) -> Any:
    """The row source for a city file published from the shell: keeps or drops the current
    version's community rows as the dataset declares (the rule the HTTP upload applies too,
    :func:`hub.cocreation.city_publish.city_source`)."""
    from hub.cocreation.city_publish import city_source as choose
    from hub.data import Data
    from hub.data.contributions import Contributions
    from hub.data.core import Gone, NotFound

    try:
        version = Data(engine).version(definition.id, None)
    except (NotFound, Gone):
        return file_source
    return choose(definition, file_source, Contributions(engine, 1).community_rows(version))


def load_example_contributions(settings: Settings, engine: Any) -> int:
    """``hub demo``: store the example contributions of ``contribution_examples.toml``
    (marked ``example``), each checked like any contribution, once per dataset. Returns how
    many were added."""
    import tomllib
    from pathlib import Path

    from hub.catalog import load_definition
    from hub.cocreation.contributions import InvalidContribution, parse_proposal
    from hub.cocreation.submission import submission
    from hub.data import Data
    from hub.data.contributions import Contributions
    from hub.data.core import NotFound

    path = Path(__file__).parent / "cocreation" / "contribution_examples.toml"
    store = Contributions(engine, settings.contributions_pending_per_key)
    added = 0
    for example in tomllib.loads(path.read_text(encoding="utf-8"))["contributions"]:
        dataset = example.pop("dataset")
        if any(r["example"] for r in store.page(dataset=dataset, status=None, limit=1000)):
            continue
        try:
            version = Data(engine).version(dataset, None)
        except NotFound:
            continue
        definition = load_definition(dataset, settings.datasets_dir, settings.schemas_dir)
        try:
            prepared = submission(definition, version, parse_proposal(
                {"kind": "new", "licence_consent": True, **example}), store, key_id=None,
                example=True)
        except InvalidContribution as exc:
            console.print(f"[yellow]example contribution for {dataset} refused[/]: "
                          f"{escape(exc.detail)}")
            continue
        store.submit(prepared.values, prepared.geometry_wkt, lambda r: AuditEntry.by_operator(
            "contribution.create", "contribution", str(r["id"]), dataset=r["dataset_id"],
            example=True))
        added += 1
    return added
