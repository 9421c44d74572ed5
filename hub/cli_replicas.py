"""``hub db replica``: streaming read replicas of the embedded cluster on this machine
(hub.db.replicas); the API reads from them once their URLs are in
``HUB_DATABASE_REPLICA_URLS`` (docs/scaling.md, "Read replicas")."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.settings import Settings

replica_app = typer.Typer(help="Streaming read replicas of the embedded cluster.",
                          no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _primary(settings: Settings):  # type: ignore[no-untyped-def]
    from hub.db.engine import local_cluster

    if settings.database_url:
        _fail("HUB_DATABASE_URL is set: replicas of that server are made by its operator "
              "(pg_basebackup -R); list their URLs in HUB_DATABASE_REPLICA_URLS")
    return local_cluster(settings)


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(1)


@replica_app.command("add")
def replica_add(
    port: Annotated[int | None, typer.Option(
        help="TCP port of the replica (default: a free one).", min=1024, max=65535)] = None,
) -> None:
    """Make a streaming replica of the embedded cluster (pg_basebackup -R, its own port and
    directory under HUB_DATA_DIR/replicas/), start it and print its URL. The first replica
    restarts the primary once, to write replica-level WAL."""
    from hub.db.cluster import ClusterError, free_port
    from hub.db.replicas import add_replica

    settings = Settings()
    primary = _primary(settings)
    try:
        replica, restarted = add_replica(primary, port or free_port())
    except ClusterError as exc:
        _fail(str(exc))
        return
    if restarted:
        console.print("primary restarted to write replica-level WAL")
    console.print(f"replica running in [bold]{replica.root}[/] on 127.0.0.1:{replica.port}; "
                  "add its URL to HUB_DATABASE_REPLICA_URLS (comma-separated):")
    out.print(replica.url(settings.db_name), soft_wrap=True)


@replica_app.command("list")
def replica_list() -> None:
    """The replicas of the embedded cluster, with their state and URL."""
    from hub.db.replicas import list_replicas

    settings = Settings()
    table = Table("port", "state", "url")
    for replica in list_replicas(_primary(settings)):
        table.add_row(str(replica.port), "running" if replica.is_running() else "stopped",
                      replica.url(settings.db_name))
    out.print(table)


@replica_app.command("remove")
def replica_remove(
    port: Annotated[int, typer.Argument(help="Port of the replica (see `hub db replica list`).")],
) -> None:
    """Stop a replica, delete its files and release the WAL the primary kept for it. Take
    its URL out of HUB_DATABASE_REPLICA_URLS too (until then the hub reads from the primary)."""
    from hub.db.cluster import ClusterError
    from hub.db.replicas import remove_replica

    try:
        remove_replica(_primary(Settings()), port)
    except ClusterError as exc:
        _fail(str(exc))
    console.print(f"replica on port {port} removed")
