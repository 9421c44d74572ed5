"""Engine construction and the database a given :class:`Settings` points at."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.pq import Format
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, create_engine, event, make_url

from hub.db.cluster import SUPERUSER, ClusterError, LocalCluster
from hub.db.roles import API_ROLE, PUBLISH_ROLE, Role
from hub.settings import Settings


def local_cluster(settings: Settings) -> LocalCluster:
    """The embedded cluster described by the settings (used when no database URL is set)."""
    return LocalCluster(
        root=settings.data_dir.resolve(), port=settings.db_port, database=settings.db_name
    )


def database_url(settings: Settings, role: Role = Role.PUBLISH) -> str:
    """The URL ``role`` connects with (hub.db.roles says who may do what).

    Configured URLs first: the API ``HUB_DATABASE_URL``; publishing
    ``HUB_PUBLISH_DATABASE_URL``, else the API's; migrations ``HUB_MIGRATE_DATABASE_URL``,
    else the publishing one (one URL for all three keeps a single-role setup working).
    Nothing configured: the embedded cluster, where each role has its own login and
    migrations run as the superuser."""
    configured = {
        Role.API: (settings.database_url,),
        Role.PUBLISH: (settings.publish_database_url, settings.database_url),
        Role.MIGRATE: (settings.migrate_database_url, settings.publish_database_url,
                       settings.database_url),
    }[role]
    for url in configured:
        if url:
            return url
    cluster = local_cluster(settings)
    if not cluster.password_file.exists():
        raise ClusterError(
            f"no database: HUB_DATABASE_URL is unset and there is no embedded cluster in "
            f"{cluster.root}; run `hub db up` first"
        )
    login = {Role.API: API_ROLE, Role.PUBLISH: PUBLISH_ROLE, Role.MIGRATE: SUPERUSER}[role]
    return cluster.url(role=login)


BINARY_RESULTS = "hub_binary_results"


def _binary_results_when_asked(_conn, cursor, _statement, _parameters, context,  # type: ignore[no-untyped-def]
                               _executemany) -> None:
    """Ask PostgreSQL for binary results on statements run with the execution option
    ``hub_binary_results=True``: a ``bytea`` value then travels at its own size instead of
    hex-escaped at twice it, and needs no decoding in Python (a dense 6.6 MB vector tile:
    the server's CPU per tile 13 -> 8 ms). SQLAlchemy has no switch for it; psycopg's
    cursor has one, and SQLAlchemy makes a new cursor per execution."""
    if context is not None and context.execution_options.get(BINARY_RESULTS):
        cursor.format = Format.BINARY


# A read's statements stay prepared on its connection (:func:`reads_in_autocommit`), and
# PostgreSQL picks a generic plan for a prepared statement after five runs: one plan for
# every value, chosen without them. For a ``q`` search that plan read the whole trigram
# index: a two-kanji word took 5.2 s instead of 0.05 s on the 1M bench table. The engines'
# sessions plan each execution with its values, as they did when nothing stayed prepared;
# a prepared statement still saves its parse. (The single-record pool keeps generic plans:
# a lookup by key has one good plan.)
CUSTOM_PLANS = "SET plan_cache_mode = force_custom_plan"


def session_statements(statement_timeout_ms: int | None,
                       parallel_workers: int | None) -> list[str]:
    """The SETs every API connection runs once, whichever pool it belongs to."""
    statements: list[str] = []
    if statement_timeout_ms:
        statements.append(f"SET statement_timeout = {int(statement_timeout_ms)}")
    if parallel_workers is not None:
        statements.append(f"SET max_parallel_workers_per_gather = {int(parallel_workers)}")
    return statements


REPLICA_APPLICATION_NAME = "hub-replica-read"
REPLICA_CONNECT_TIMEOUT_S = 3


def make_engine(
    settings: Settings, *, role: Role = Role.PUBLISH, statement_timeout_ms: int | None = None,
    parallel_workers: int | None = None, replica_url: str | None = None,
) -> Engine:
    """A pooled engine connecting as ``role`` (the CLI is staff's tool and publishes; the
    API server asks for ``Role.API``). API engines pass a statement timeout so no query runs
    unbounded, and a parallel-worker limit per query (``HUB_API_PARALLEL_WORKERS``, see
    docs/settings.md).

    ``replica_url``: an engine on that read replica instead of the primary. Its sessions are
    named :data:`REPLICA_APPLICATION_NAME` (visible in the replica's ``pg_stat_activity``)
    and give up connecting after a few seconds, so a dead replica costs a read little
    before it fails over to the primary (hub.data.read_routing). They run in autocommit:
    everything read there is read-only statements, and without a transaction there is no
    BEGIN and ROLLBACK round trip per checkout, and no idle transaction whose snapshot
    would hold back vacuum on the primary through ``hot_standby_feedback``. A caller that
    needs a transaction (a bulk-file stream's ``SET LOCAL``) asks for one on its connection."""
    options: dict[str, object] = {}
    if replica_url is not None:
        options = {"isolation_level": "AUTOCOMMIT",
                   "connect_args": {"application_name": REPLICA_APPLICATION_NAME,
                                    "connect_timeout": REPLICA_CONNECT_TIMEOUT_S}}
    engine = create_engine(
        replica_url or database_url(settings, role),
        pool_size=settings.pool_size,
        max_overflow=10,
        pool_pre_ping=settings.db_pre_ping,
        pool_recycle=1800,
        **options,  # type: ignore[arg-type]
    )
    event.listen(engine, "before_cursor_execute", _binary_results_when_asked)
    statements = session_statements(statement_timeout_ms, parallel_workers)
    if role is Role.API or replica_url is not None:
        statements.append(CUSTOM_PLANS)
    if statements:

        @event.listens_for(engine, "connect")
        def _configure(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            with dbapi_conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
            dbapi_conn.commit()

    return engine


def make_async_pool(
    settings: Settings, *, statement_timeout_ms: int | None = None,
    parallel_workers: int | None = None,
) -> AsyncConnectionPool:
    """An async psycopg pool (not yet open) for the reads served on the event loop
    (hub.data.records_by_key). Same database, same session settings as :func:`make_engine`;
    autocommit, since each of those reads is a single statement."""
    statements = session_statements(statement_timeout_ms, parallel_workers)

    async def configure(conn: AsyncConnection) -> None:
        for statement in statements:
            await conn.execute(statement)

    url = make_url(database_url(settings, Role.API)).set(drivername="postgresql")
    return AsyncConnectionPool(
        url.render_as_string(hide_password=False),
        min_size=1,
        max_size=settings.pool_size + 10,
        kwargs={"autocommit": True},
        configure=configure,
        max_idle=1800,
        timeout=10,  # seconds to wait for a free connection before answering 503
        open=False,
    )


def reads_in_autocommit(engine: Engine) -> Engine:
    """``engine``'s pool, its connections in autocommit while checked out, for reads.

    A read in a transaction costs three round trips more than the read itself: psycopg
    sends ``BEGIN`` before the first statement, and the pool's reset on return sends
    ``ROLLBACK``, after which psycopg also deallocates the connection's prepared statements
    (one more round trip, and no statement ever stays prepared from one request to the
    next). Under READ COMMITTED a transaction gives each statement its own snapshot anyway,
    so a read loses nothing by running without one. Writes keep ``engine`` itself, whose
    ``begin()`` is a real transaction."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")
