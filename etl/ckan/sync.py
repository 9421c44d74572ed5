"""Push entry points used by the CLI and by the push-after-publish hook.

:func:`run_push` loads the hub's datasets, pushes them and records the outcome per dataset in
``hub.ckan_sync``. :func:`push_after_publish` does the same for one dataset and never raises:
a publish must not fail because CKAN is down; the failure is recorded and the next push
(which re-plans from CKAN's real state) retries it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydantic import SecretStr
from sqlalchemy import Engine

from etl.ckan import state
from etl.ckan.apply import ItemResult, OnItem, PushReport, push
from etl.ckan.client import CallStats, CkanClient, scrub
from etl.ckan.plan import package_name
from etl.ckan.source import ArtifactLister, hub_datasets
from hub.settings import Settings

log = logging.getLogger(__name__)


class NotConfigured(ValueError):
    """No CKAN URL (or key) given; the message says which setting or option to use."""


def hub_base_url(settings: Settings) -> str:
    """The hub's public base URL, used in resource URLs and the ``hub_url`` extra."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def make_client(settings: Settings, *, url: str | None = None,
                api_key: SecretStr | str | None = None, need_key: bool = True,
                **options: object) -> CkanClient:
    """A client for ``url``/``api_key`` or HUB_CKAN_URL/HUB_CKAN_API_KEY."""
    url = url or settings.ckan_url
    if not url:
        raise NotConfigured("no CKAN URL: pass --url or set HUB_CKAN_URL")
    key = api_key or settings.ckan_api_key
    if need_key and not key:
        raise NotConfigured("no CKAN API key: pass --api-key or set HUB_CKAN_API_KEY")
    return CkanClient(url, key, timeout_s=settings.ckan_timeout_s, **options)  # type: ignore[arg-type]


def run_push(
    settings: Settings,
    engine: Engine,
    client: CkanClient,
    *,
    only: Sequence[str] | None = None,
    organisation: str | None = None,
    dry_run: bool = False,
    artifacts: ArtifactLister | None = None,
    on_item: OnItem | None = None,
) -> PushReport:
    """Push the whole catalogue (``only`` empty: deletes included) or the named datasets."""
    base = hub_base_url(settings)
    warnings: list[str] = []
    datasets = hub_datasets(
        engine, base, only=only or None, artifacts=artifacts,
        on_artifact_error=lambda d, e: warnings.append(f"{d}: bulk files not listed ({e})"),
    )
    for warning in warnings:
        log.warning("%s; using download URLs without size and hash", warning)
    missing = sorted(set(only or ()) - {d.id for d in datasets})
    report = push(client, datasets, organisation=organisation or settings.ckan_organization,
                  full=not only, dry_run=dry_run, hub_base_url=base, on_item=on_item)
    for dataset_id in missing:
        item = ItemResult("package", package_name(dataset_id), "unknown", "failed", dataset_id,
                          message="not in the hub: no published current version")
        report.items.append(item)
        if on_item:
            on_item(item)
    if not dry_run:
        state.record(engine, client.url, [i for i in report.items if i.dataset_id])
    return report


def push_after_publish(settings: Settings, engine: Engine, dataset_id: str, *,
                       artifacts: ArtifactLister | None = None,
                       client: CkanClient | None = None) -> PushReport | None:
    """Push one freshly published dataset when HUB_CKAN_PUSH_ON_PUBLISH is on. Never raises."""
    if not settings.ckan_push_on_publish:
        return None
    try:
        client = client or make_client(settings)
        report = run_push(settings, engine, client, only=[dataset_id], artifacts=artifacts)
        for item in report.failed:
            log.warning("CKAN push of %s failed (recorded; the next push retries): %s",
                        dataset_id, item.message)
        return report
    except Exception as exc:  # the publish has committed; a push problem must not undo it
        message = scrub(f"{type(exc).__name__}: {exc}", settings.ckan_api_key)
        log.warning("CKAN push of %s failed (recorded; the next push retries): %s",
                    dataset_id, message)
        try:
            state.record(engine, settings.ckan_url or "(not configured)", [ItemResult(
                "package", package_name(dataset_id), "push", "failed", dataset_id,
                message=message)])
        except Exception as record_exc:  # even recording may fail (database gone)
            log.warning("could not record the failed CKAN push: %s", record_exc)
        return PushReport([], CallStats(), dry_run=False)
