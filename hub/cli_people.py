"""``hub keys`` and ``hub audit``: keys and the audit log for someone with a shell on the
server. Acts as the local operator (``cli:<os user>`` in the audit log), without a key: a
shell on the server is already the highest trust the hub knows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.people.audit import AuditEntry, AuditFilter, operator_actor
from hub.people.keys import InvalidKeyRequest, NewKey, expiry_from, scopes_from
from hub.people.scopes import KeyKind
from hub.serialise.people import audit_json, key_json
from hub.settings import Settings

keys_app = typer.Typer(help="API keys: issue, list, revoke (see docs/people.md).",
                       no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _people(settings: Settings) -> Any:
    from hub.data.people import People
    from hub.db.engine import make_engine

    return People(make_engine(settings))


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _split(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text is not None else None


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what the key is for.")],
    scopes: Annotated[str, typer.Option(
        "--scopes", help="Comma-separated: contribute, publish, moderate, admin.")],
    datasets: Annotated[str | None, typer.Option(
        "--datasets", help="Comma-separated dataset ids the key is limited to "
        "(default: every dataset).")] = None,
    expires: Annotated[str | None, typer.Option(
        "--expires", help="Lifetime: 90d, 12h, 2w, 30m (default: never).")] = None,
    rate_limit: Annotated[int | None, typer.Option(
        "--rate-limit", help="Requests per window instead of HUB_RATE_LIMIT_KEY "
        "(0: unlimited).")] = None,
    output: Annotated[str, typer.Option(help="table or json")] = "table",
) -> None:
    """Issue a key and print its token once; the hub keeps only the token's SHA-256.

    Example: [bold]hub keys create --name "parks uploads" --scopes publish --datasets parks
    --expires 90d[/]
    """
    try:
        new = NewKey(name=name, kind=KeyKind.STAFF, scopes=scopes_from(scopes),
                     created_by=operator_actor(),
                     datasets=frozenset(_split(datasets) or []) if datasets is not None
                     else None,
                     expires_at=expiry_from(expires, datetime.now(UTC)),
                     rate_limit=rate_limit)
    except InvalidKeyRequest as exc:
        _fail(str(exc), code=2)
    people = _people(Settings())
    row, token = people.issue(new, lambda r: AuditEntry.by_operator(
        "key.create", "key", str(r["id"]), name=r["name"], scopes=r["scopes"],
        datasets=r["datasets"], expires_at=key_json(r)["expires_at"]))
    people.engine.dispose()
    if output == "json":
        out.print_json(json.dumps({"token": token, **key_json(row)}, ensure_ascii=False))
        return
    console.print(f"[green]created[/] key {row['id']} {row['name']!r} "
                  f"({', '.join(row['scopes'])}); the token is shown this once:")
    out.print(token, soft_wrap=True, highlight=False)


@keys_app.command("list")
def keys_list(
    include_revoked: Annotated[bool, typer.Option(
        "--include-revoked/--active", help="Also list revoked keys.")] = True,
    output: Annotated[str, typer.Option(help="table or json")] = "table",
) -> None:
    """Name, scopes, datasets, created, expires, last used; never the secret."""
    people = _people(Settings())
    rows = [key_json(r) for r in people.keys(None, include_revoked)]
    people.engine.dispose()
    if output == "json":
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "name", "scopes", "datasets", "created", "expires", "last used",
                  "state")
    for r in rows:
        table.add_row(str(r["id"]), r["name"], ",".join(r["scopes"]),
                      ",".join(r["datasets"]) if r["datasets"] is not None else "(all)",
                      _day(r["created_at"]), _day(r["expires_at"]) or "never",
                      _day(r["last_used_at"]) or "never", _state(r))
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="Key id (from `hub keys list`).")],
    reason: Annotated[str | None, typer.Option(
        help="Why; shown to the key's holder on their next write.")] = None,
) -> None:
    """Revoke a key at once: its next write answers 401 saying it was revoked."""
    from hub.data import NotFound

    people = _people(Settings())
    operator = operator_actor()
    try:
        row = people.revoke(
            key_id, operator, reason, check=lambda _r: None,
            audit=lambda r, result: AuditEntry.by_operator(
                "key.revoke", "key", str(r["id"]), result, name=r["name"], reason=reason))
    except NotFound as exc:
        _fail(str(exc), code=2)
    finally:
        people.engine.dispose()
    console.print(f"[yellow]revoked[/] key {row['id']} {row['name']!r} at {row['revoked_at']}")


def audit_cmd(
    action: Annotated[str | None, typer.Option(help="e.g. key.create, version.publish")] = None,
    key: Annotated[int | None, typer.Option(help="Id of the acting key.")] = None,
    object_type: Annotated[str | None, typer.Option(help="e.g. key, version")] = None,
    object_id: Annotated[str | None, typer.Option(help="e.g. 12, kobe-aed/3")] = None,
    since: Annotated[datetime | None, typer.Option(help="At or after (ISO 8601).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    output: Annotated[str, typer.Option(help="table or json")] = "table",
) -> None:
    """Read the audit log, newest first: who did what to which object, from where, result."""
    people = _people(Settings())
    rows = [audit_json(r) for r in people.audit(AuditFilter(
        action=action, key_id=key, object_type=object_type, object_id=object_id,
        since=_aware(since), until=_aware(until), limit=limit))]
    people.engine.dispose()
    if output == "json":
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "at", "actor", "key", "action", "object", "from", "result")
    for r in rows:
        table.add_row(str(r["id"]), r["at"][:19], r["actor"],
                      f"{r['key_id']} {r['key_name']}" if r["key_id"] else "",
                      r["action"], f"{r['object_type']} {r['object_id']}",
                      r["client_address"] or "", r["result"])
    out.print(table)


def _aware(moment: datetime | None) -> datetime | None:
    """Typer parses ISO dates without a zone; read those as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _state(key: dict[str, Any]) -> str:
    if key["revoked_at"]:
        return f"revoked {_day(key['revoked_at'])}"
    if key["expires_at"] and datetime.fromisoformat(key["expires_at"]) <= datetime.now(UTC):
        return "expired"
    return "active" + (" (self-service)" if key["kind"] == "self" else "")


def _day(iso: str | None) -> str:
    return iso[:10] if iso else ""


def record_operator_write(settings: Settings, entry: AuditEntry) -> None:
    """Record a CLI write (publish, withdraw) that has committed or failed. A failure to
    record is reported, never hidden, and never undoes the write."""
    try:
        people = _people(settings)
        try:
            people.record(entry)
        finally:
            people.engine.dispose()
    except Exception as exc:
        console.print(f"[bold red]warning:[/] the audit log did not record {entry.action} "
                      f"{entry.object_id}: {exc}")
