"""Observe CKAN, plan, and execute the plan with a status per organisation and package.

:func:`push` is the whole push: read what CKAN holds for each desired package and
organisation (reads only), make the :class:`~etl.ckan.plan.Plan`, and unless ``dry_run``
execute it. A failure (403, CKAN's validation message, a timeout or 5xx after retries) is
recorded on that item and the next item goes on; nothing is rolled back, and the next push
re-plans from what CKAN then holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from etl.ckan.client import CallStats, CkanClient, CkanError
from etl.ckan.plan import (
    HubDataset,
    OrganisationAction,
    PackageAction,
    Plan,
    desired_organisation,
    make_plan,
    package_for_create,
    package_for_update,
    package_name,
)

Status = Literal["ok", "unchanged", "conflict", "failed", "planned"]


@dataclass
class ItemResult:
    """The outcome of one organisation or package."""

    kind: Literal["organisation", "package"]
    name: str
    action: str
    status: Status
    dataset_id: str | None = None
    version: int | None = None
    message: str = ""
    changes: list[str] = field(default_factory=list)
    error_kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class PushReport:
    items: list[ItemResult]
    stats: CallStats
    dry_run: bool
    plan: Plan | None = None

    @property
    def packages(self) -> list[ItemResult]:
        return [i for i in self.items if i.kind == "package"]

    @property
    def failed(self) -> list[ItemResult]:
        return [i for i in self.items if i.status == "failed"]

    @property
    def conflicts(self) -> list[ItemResult]:
        return [i for i in self.items if i.status == "conflict"]

    @property
    def ok(self) -> bool:
        """All succeeded: no failure and no conflict."""
        return not self.failed and not self.conflicts

    @property
    def nothing_to_do(self) -> bool:
        return all(i.action == "unchanged" for i in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "items": [i.to_dict() for i in self.items],
            "calls": dict(self.stats.calls),
            "writes": self.stats.writes,
            "retries": self.stats.retries,
        }


OnItem = Callable[[ItemResult], None]


@dataclass
class Observation:
    """What CKAN holds now for the desired packages and organisations."""

    packages: dict[str, dict[str, Any] | None]
    organisations: dict[str, dict[str, Any] | None]
    managed: list[dict[str, Any]]
    errors: dict[str, CkanError]  # package or organisation name -> why it could not be read


MANAGED_FQ = '+extras_hub_managed:"true"'


def observe(client: CkanClient, datasets: Sequence[HubDataset], *,
            organisation: str | None = None, full: bool = True) -> Observation:
    """Read (never write) the current state the plan needs."""
    packages: dict[str, dict[str, Any] | None] = {}
    organisations: dict[str, dict[str, Any] | None] = {}
    errors: dict[str, CkanError] = {}
    for dataset in datasets:
        org = desired_organisation(dataset, organisation).name
        if org not in organisations and org not in errors:
            try:
                organisations[org] = client.organisation_or_none(org)
            except CkanError as exc:
                errors[org] = exc
        name = package_name(dataset.id)
        try:
            packages[name] = client.package_or_none(name)
        except CkanError as exc:
            errors[name] = exc
    managed: list[dict[str, Any]] = []
    if full:
        try:
            managed = client.search_all(MANAGED_FQ)
        except CkanError as exc:
            errors["(search)"] = exc
    return Observation(packages, organisations, managed, errors)


def push(
    client: CkanClient,
    datasets: Sequence[HubDataset],
    *,
    organisation: str | None = None,
    full: bool = True,
    dry_run: bool = False,
    hub_base_url: str | None = None,
    on_item: OnItem | None = None,
) -> PushReport:
    """Make CKAN mirror ``datasets``. ``full``: the whole catalogue is being pushed, so
    hub-managed packages of datasets no longer in the hub are deleted (a ``--dataset`` push
    passes ``full=False`` and never deletes)."""
    seen = observe(client, datasets, organisation=organisation, full=full)
    items: list[ItemResult] = []

    def emit(item: ItemResult) -> None:
        items.append(item)
        if on_item:
            on_item(item)

    readable: list[HubDataset] = []
    for dataset in datasets:
        org = desired_organisation(dataset, organisation).name
        name = package_name(dataset.id)
        error = seen.errors.get(name) or seen.errors.get(org)
        if error is not None:
            emit(ItemResult("package", name, "unknown", "failed", dataset.id, dataset.version,
                            f"could not read current state: {error}", error_kind=error.kind))
        else:
            readable.append(dataset)
    search_error = seen.errors.get("(search)")
    if search_error is not None:
        emit(ItemResult("package", "(hub-managed packages)", "delete", "failed",
                        message=f"could not list hub-managed packages, so none is deleted: "
                                f"{search_error}", error_kind=search_error.kind))
    plan = make_plan(
        readable,
        {k: v for k, v in seen.packages.items()},
        {k: v for k, v in seen.organisations.items()},
        managed_elsewhere=seen.managed if full and search_error is None else (),
        organisation_override=organisation,
        hub_base_url=hub_base_url,
    )
    versions = {d.id: d.version for d in readable}
    if dry_run:
        for org_action in plan.organisations:
            emit(_org_result(org_action, "unchanged" if org_action.action == "unchanged"
                             else "planned"))
        for action in plan.packages:
            status: Status = ("unchanged" if action.action == "unchanged" else
                              "conflict" if action.action == "conflict" else "planned")
            emit(_package_result(action, status, versions))
        return PushReport(items, client.stats, dry_run=True, plan=plan)

    organisation_ids: dict[str, str] = {}
    organisation_errors: dict[str, str] = {}
    for org_action in plan.organisations:
        result = _apply_organisation(client, org_action, organisation_ids)
        if result.status == "failed":
            organisation_errors[org_action.name] = result.message
        emit(result)
    for action in plan.packages:
        emit(_apply_package(client, action, versions, organisation_ids, organisation_errors))
    return PushReport(items, client.stats, dry_run=False, plan=plan)


def _org_result(action: OrganisationAction, status: Status, message: str = "",
                error_kind: str | None = None) -> ItemResult:
    return ItemResult("organisation", action.name, action.action, status, message=message,
                      changes=list(action.changes), error_kind=error_kind)


def _package_result(action: PackageAction, status: Status, versions: dict[str, int],
                    message: str = "", error_kind: str | None = None) -> ItemResult:
    return ItemResult("package", action.name, action.action, status, action.dataset_id,
                      versions.get(action.dataset_id or ""), message or action.reason,
                      list(action.changes), error_kind)


def _apply_organisation(client: CkanClient, action: OrganisationAction,
                        ids: dict[str, str]) -> ItemResult:
    try:
        if action.action == "create":
            created = client.call("organization_create", name=action.name, title=action.title,
                                  extras=[{"key": "hub_managed", "value": "true"}])
            ids[action.name] = created["id"]
        elif action.action == "update":
            updated = client.call("organization_patch", id=action.name, title=action.title)
            ids[action.name] = updated["id"]
        else:
            if action.current and action.current.get("id"):
                ids[action.name] = action.current["id"]
            return _org_result(action, "unchanged")
    except CkanError as exc:
        return _org_result(action, "failed", str(exc), exc.kind)
    return _org_result(action, "ok")


def _apply_package(client: CkanClient, action: PackageAction, versions: dict[str, int],
                   organisation_ids: dict[str, str],
                   organisation_errors: dict[str, str]) -> ItemResult:
    if action.action in ("unchanged", "conflict"):
        return _package_result(action, action.action, versions)  # type: ignore[arg-type]
    if action.organisation in organisation_errors and action.action != "delete":
        return _package_result(action, "failed", versions,
                               f"organisation {action.organisation!r} could not be written: "
                               f"{organisation_errors[action.organisation]}", "organisation")
    org_id = organisation_ids.get(action.organisation or "")
    try:
        if action.action == "create" and action.current is None:
            assert action.desired is not None
            client.call("package_create", **package_for_create(action.desired, org_id))
        elif action.action in ("create", "update"):
            # "create" with a current package: a hub-managed package that was deleted in CKAN
            assert action.desired is not None and action.current is not None
            payload = package_for_update(action.desired, action.current, org_id)
            payload["state"] = "active"
            client.call("package_update", **payload)
        elif action.action == "delete":
            client.call("package_delete", id=action.current["id"] if action.current
                        else action.name)
    except CkanError as exc:
        return _package_result(action, "failed", versions, str(exc), exc.kind)
    return _package_result(action, "ok", versions)
