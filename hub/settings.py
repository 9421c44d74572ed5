"""Settings for the hub, read from ``HUB_*`` environment variables.

Nothing reads the environment at import time: callers build a :class:`Settings`
(``Settings()`` reads the environment, tests pass values explicitly) and hand it to
``create_app(settings)``, the CLI and the ETL. Each concern has its own small model so a
reader can see at a glance which knobs exist; ``docs/settings.md`` documents every one and a
test fails when a setting is undocumented.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """All runtime configuration of the hub.

    ``database_url`` unset means "use the embedded local cluster under ``data_dir``".
    """

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    database_url: str | None = Field(
        default=None, repr=False,
        description="SQLAlchemy URL the API server connects with "
        "(postgresql+psycopg://user:pass@host:5432/db), as a role that reads and writes only "
        "co-creation tables (`hub_api`, docs/security.md). Unset: use the embedded cluster.",
    )
    publish_database_url: str | None = Field(
        default=None, repr=False,
        description="URL of the publishing role (`hub_publish`: creates version tables), "
        "used by `hub publish` and the other staff commands, and by HTTP publishing. "
        "Unset: HUB_DATABASE_URL (one role for all), or the embedded cluster's.",
    )
    migrate_database_url: str | None = Field(
        default=None, repr=False,
        description="URL of the schema owner, used by `hub db up` / `hub db migrate`. Unset: "
        "HUB_PUBLISH_DATABASE_URL, else HUB_DATABASE_URL, or the embedded superuser.",
    )
    database_replica_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated SQLAlchemy URLs of streaming read replicas of the "
        "database (`hub db replica add` prints one). Record, tile, download-build and "
        "catalogue reads go to a healthy replica that has replayed what they read; "
        "everything else goes to the primary (docs/scaling.md, \"Read replicas\").",
    )
    replica_max_lag_s: float = Field(
        default=10.0, gt=0,
        description="A replica whose replay is this many seconds behind is taken out of "
        "rotation until a later check finds it caught up.",
    )
    replica_lsn_cache_s: float = Field(
        default=0.5, ge=0,
        description="Seconds a replica's replay position and lag are reused before being "
        "asked again: no extra query per read, at the price of reading a just-published "
        "version from the primary for up to this long.",
    )
    replica_retry_s: float = Field(
        default=2.0, gt=0,
        description="Wait before re-checking a replica taken out of rotation; doubles with "
        "each failed check, up to 60 seconds.",
    )
    data_dir: Path = Field(
        default=Path(".hub"),
        description="Directory of the embedded PostgreSQL cluster, its socket and logs.",
    )
    db_port: int = Field(
        default=54329, ge=1024, le=65535, description="TCP port of the embedded cluster."
    )
    db_name: str = Field(default="hub", description="Database name in the embedded cluster.")
    host: str = Field(default="127.0.0.1", description="Address `hub serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `hub serve` listens on.")
    public_url: str | None = Field(
        default=None,
        description="Base URL clients see (for links); defaults to the request's own base URL.",
    )
    datasets_dir: Path = Field(
        default=Path("datasets"), description="Folder of dataset definitions (dataset.toml)."
    )
    schemas_dir: Path = Field(
        default=Path("schemas"), description="Folder of Table Schema JSON files."
    )
    assets_dir: Path = Field(
        default=Path("node_modules"),
        description="Folder of the npm packages the portal serves itself (MapLibre GL JS, "
        "Swagger UI), installed by `make` with `npm ci` from package-lock.json.",
    )
    default_limit: int = Field(default=100, ge=1, description="Records per page when unset.")
    max_limit: int = Field(default=1000, ge=1, description="Largest accepted `limit`.")
    count_cap: int = Field(
        default=1000, ge=0,
        description="Largest `numberMatched` a filtered records page counts exactly; more "
        "matches leave it out (0: filtered pages never count).",
    )
    max_radius_m: float = Field(
        default=50_000, gt=0, description="Largest accepted `radius` (metres) for `near`."
    )
    statement_timeout_ms: int = Field(
        default=15_000, ge=100, description="PostgreSQL statement_timeout for API queries."
    )
    api_parallel_workers: int = Field(
        default=0, ge=0,
        description="max_parallel_workers_per_gather of API connections (0: none). API "
        "queries are short and many run at once; a parallel plan starts worker processes "
        "that each warm PostGIS afresh, which cost more than they saved.",
    )
    tile_cache_mb: int = Field(
        default=256, ge=0,
        description="Memory per server worker for finished unfiltered vector tiles (0: off). "
        "Version tables never change, so a cached tile never goes stale.",
    )
    tile_max_kb: int = Field(
        default=500, ge=16,
        description="Largest vector tile (KiB). A tile whose features would take more is "
        "thinned: one feature per grid cell, each with a `count` of the features it stands "
        "for (docs/ogc.md).",
    )
    pmtiles_max_zoom: int = Field(
        default=14, ge=0, le=24,
        description="Deepest zoom of a version layer's PMTiles archive (`download.pmtiles`, "
        "also what pinned tiles are served from). The archive stops earlier, at the first zoom "
        "where no tile is thinned; deeper tiles are computed live.",
    )
    pool_size: int = Field(
        default=40, ge=1,
        description="Database connections kept per worker: as many as the server's worker "
        "threads (40), so busy periods reuse connections instead of opening new ones.",
    )
    db_pre_ping: bool = Field(
        default=False,
        description="Test each pooled connection with a round trip before use. Off: a "
        "connection broken by a database restart fails one request and is then replaced.",
    )
    max_errors: int = Field(
        default=1000, ge=1, description="Validation stops collecting errors after this many."
    )
    body_idle_timeout_s: float = Field(
        default=30.0, ge=0,
        description="Seconds a request body may pause before the request is answered 408 and "
        "nothing is stored (0: wait forever). Stops slow-body clients holding workers.",
    )
    read_max_file_bytes: int = Field(
        default=8 << 30, ge=1,
        description="Largest file `hub validate`/`hub publish` and uploads will read, in bytes. "
        "Checked before reading, so a hostile file costs nothing.",
    )
    read_max_columns: int = Field(
        default=2000, ge=1,
        description="Most columns a table may have (header or any record). Checked while the "
        "head is read, before any per-column work.",
    )
    read_max_rows: int = Field(
        default=50_000_000, ge=1, description="Most records a table may have.",
    )
    read_max_cell_bytes: int = Field(
        default=1 << 20, ge=1,
        description="Longest cell, in bytes of its text (an XLSX cell holds at most 32,767 "
        "characters; anything past this is a broken or hostile file).",
    )
    publisher: str | None = Field(
        default=None, description="Name recorded as publisher; defaults to the OS user."
    )
    max_upload_mb: int = Field(
        default=200, ge=1,
        description="Largest file `POST /v1/datasets/{id}/versions` accepts, in MiB; a bigger "
        "upload is refused with 413 as soon as it passes the cap.",
    )
    catalogue_title: str = Field(
        default="Co-Creation Hub",
        description="Title of the DCAT catalogue and the CKAN site (/catalog.jsonld, "
        "/api/3/action/status_show).",
    )
    catalogue_publisher: str = Field(
        default="Co-Creation Hub",
        description="Organisation publishing the DCAT catalogue (dct:publisher of dcat:Catalog), "
        "written like dataset organisations: '焼津市 (Yaizu City)'.",
    )
    artifact_dir: Path | None = Field(
        default=None,  # filled in from data_dir below
        description="Directory of the artifact store holding each version's bulk files "
        "(default: <data_dir>/artifacts).",
    )
    export_batch_rows: int = Field(
        default=50_000, ge=100,
        description="Rows per batch when streaming a version into bulk files (bounds memory).",
    )

    ckan_url: str | None = Field(
        default=None, description="CKAN site `hub ckan push` / `pull` talk to (https://...)."
    )
    ckan_api_key: SecretStr | None = Field(
        default=None,
        description="CKAN API token of a user who may create packages (never printed).",
    )
    ckan_organization: str | None = Field(
        default=None,
        description="Push every dataset into this CKAN organisation instead of its own.",
    )
    ckan_push_on_publish: bool = Field(
        default=False,
        description="Push a dataset to CKAN after each publish; a failed push is recorded, "
        "never fails the publish.",
    )
    ckan_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout of one CKAN API call, in seconds."
    )

    rate_limit_storage: str | None = Field(
        default=None,
        description="Where request counters live: redis://host:6379/0 shares them between "
        "server processes; unset: in each process's memory (one process only).",
    )
    rate_limit_window_s: int = Field(
        default=60, ge=1, description="Length of the rate-limit window, in seconds."
    )
    rate_limit_anonymous: int = Field(
        default=1200, ge=0,
        description="Requests per window per client address without a key (0: unlimited).",
    )
    rate_limit_key: int = Field(
        default=6000, ge=0,
        description="Requests per window per key, unless the key has its own limit "
        "(0: unlimited).",
    )
    self_service_keys_per_hour: int = Field(
        default=5, ge=0,
        description="Self-service contributor keys one client address may take per hour "
        "(0: self-service is off).",
    )
    self_service_key_days: int = Field(
        default=365, ge=1, description="Days until a self-service contributor key expires."
    )
    portal_session_hours: int = Field(
        default=12, ge=1, le=24 * 30,
        description="Hours a portal sign-in lasts (the key's own revocation or expiry ends "
        "it sooner).",
    )

    cocreation_pending_per_key: int = Field(
        default=10, ge=1,
        description="Items one key may have waiting for staff at once, per kind (open data "
        "requests, pending showcases).",
    )
    cocreation_max_body_bytes: int = Field(
        default=65536, ge=1024,
        description="Largest JSON body accepted by co-creation writes, in bytes.",
    )
    cocreation_max_image_bytes: int = Field(
        default=2_097_152, ge=1024,
        description="Largest showcase image accepted, in bytes.",
    )
    usage_stats: bool = Field(
        default=True,
        description="Count requests, records served, tiles and downloads per dataset, version "
        "and day (GET /v1/stats). Off: nothing is counted.",
    )
    usage_flush_s: float = Field(
        default=10.0, gt=0,
        description="Seconds between writes of the in-memory usage counts to the database "
        "(also written at shutdown).",
    )
    webhooks_worker: bool = Field(
        default=True,
        description="Run the webhook delivery worker in each server process "
        "(`hub serve`, `hub demo`). Several processes share the queue safely.",
    )
    webhooks_poll_s: float = Field(
        default=2.0, gt=0, description="Seconds the webhook worker waits when nothing is due."
    )
    webhooks_timeout_s: float = Field(
        default=10.0, gt=0, description="Timeout of one webhook delivery (connect + response)."
    )
    webhooks_max_attempts: int = Field(
        default=8, ge=1,
        description="Attempts per delivery before it is marked failed (replay sends it again).",
    )
    webhooks_backoff_s: float = Field(
        default=30.0, gt=0,
        description="Wait before the first retry; doubles with each attempt (with jitter), "
        "capped at 6 hours. A Retry-After from the receiver wins when it is longer.",
    )
    webhooks_allow_private_targets: str = Field(
        default="",
        description="Comma-separated networks (CIDR) webhooks may reach although they are "
        "loopback, private or link-local, e.g. `127.0.0.0/8` for a local test receiver. "
        "Empty: only public addresses.",
    )

    cors_origins: str = Field(
        default="*",
        description="Origins (comma-separated, e.g. `https://map.example.jp`) whose scripts "
        "may read the API (GET, HEAD) across origins; `*` any; empty: none. Credentials "
        "are never allowed.",
    )
    cors_write_origins: str = Field(
        default="",
        description="Origins whose scripts may send writes (POST, PUT, PATCH, DELETE) across "
        "origins, with a key in `Authorization`; empty: none (the default).",
    )
    contributions_pending_per_key: int = Field(
        default=20, ge=1,
        description="Contributions to records one key may have waiting for a moderator at "
        "once; the next is refused with 429 until one is decided.",
    )

    http_cache_purge_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Shared HTTP caches (comma-separated URLs, e.g. `http://127.0.0.1:8000/` "
        "for the Varnish of `make serve-cached`) that each server process sends a BAN to "
        "when a publish or withdrawal commits; empty: none.",
    )
    http_cache_purge_poll_s: float = Field(
        default=2.0, gt=0,
        description="Seconds between looks for purges to retry (new ones are sent at once).",
    )
    @field_validator("database_replica_urls", "http_cache_purge_urls", mode="before")
    @classmethod
    def _split_url_lists(cls, value: object) -> object:
        """A list of URLs in one environment variable: comma-separated, blanks dropped."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _artifact_dir_default(self) -> Settings:
        if self.artifact_dir is None:
            self.artifact_dir = self.data_dir / "artifacts"
        return self

    @model_validator(mode="after")
    def _private_targets_parse(self) -> Settings:
        self.webhook_private_networks()  # a typo fails at start-up, not at the first delivery
        return self

    def webhook_private_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """``HUB_WEBHOOKS_ALLOW_PRIVATE_TARGETS`` as networks."""
        try:
            return tuple(ip_network(part.strip(), strict=False)
                         for part in self.webhooks_allow_private_targets.split(",")
                         if part.strip())
        except ValueError as exc:
            raise ValueError(f"HUB_WEBHOOKS_ALLOW_PRIVATE_TARGETS: {exc}") from None

    @model_validator(mode="after")
    def _limits_consistent(self) -> Settings:
        if self.default_limit > self.max_limit:
            raise ValueError(
                f"HUB_DEFAULT_LIMIT ({self.default_limit}) exceeds HUB_MAX_LIMIT ({self.max_limit})"
            )
        return self
