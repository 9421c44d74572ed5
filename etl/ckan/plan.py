"""What a push should do: desired state (from the hub) + current state (from CKAN) -> a Plan.

Pure functions only: no network, no database. :func:`make_plan` compares, for every hub
dataset, the CKAN package the hub would write with the package CKAN holds now, and decides one
action per organisation and per package:

``create``     the package (or organisation) does not exist in CKAN
``update``     it exists, carries ``hub_managed=true`` and differs in a field the hub manages
``unchanged``  it exists and every managed field already has the desired value: no write call
``conflict``   a package of that name exists but the hub did not create it: left alone
``delete``     a hub-managed package whose dataset is no longer in the hub (full pushes only)

The hub manages: name, title, notes, owner organisation, licence, tags, the ``hub_*`` extras
and the resources it created (marked with a ``hub_version`` field). Everything else a CKAN
editor adds (other extras, other resources, maintainer ...) is kept on update.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.catalog import DatasetDescription, ckan_tags, organisation_of, slug

Action = Literal["create", "update", "unchanged", "delete", "conflict"]

MANAGED_MARK = "hub_managed"
# Extras the hub writes on every package it manages; other extras belong to CKAN editors.
HUB_EXTRAS = ("hub_dataset_id", "hub_version", "hub_content_sha256", "hub_url", "hub_licence",
              "title_en", MANAGED_MARK)
RESOURCE_FIELDS = ("name", "url", "format", "size", "hash", "description", "mimetype",
                   "hub_version")

# CKAN validators (ckan/logic/validators.py): names are 2-100 of [a-z0-9_-]; tags are 2-100 of
# unicode word characters, spaces, hyphens, underscores and dots.
_NAME_OK = re.compile(r"^[a-z0-9_-]{2,100}$")

# -- naming rules ---------------------------------------------------------------------------


def organisation_name(organisation: str) -> str:
    """The CKAN organisation name of a hub organisation text: the one rule
    (``hub.organisations``) the CKAN read API and DCAT use too."""
    return organisation_of(organisation).name


def package_name(dataset_id: str) -> str:
    """The CKAN package name of a hub dataset id (hub ids are already nearly CKAN-valid)."""
    name = dataset_id.lower()
    if _NAME_OK.match(name):
        return name
    return slug(dataset_id, fallback_prefix="dataset")


# -- desired state --------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceSpec:
    """One bulk file of the current version, as a CKAN resource."""

    name: str
    url: str
    format: str
    size: int | None = None
    hash: str | None = None
    description: str = ""
    mimetype: str | None = None

    def as_ckan(self, version: int) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "name": self.name, "url": self.url, "format": self.format,
            "description": self.description, "hub_version": str(version),
        }
        if self.size is not None:
            resource["size"] = self.size
        if self.hash:
            resource["hash"] = self.hash
        if self.mimetype:
            resource["mimetype"] = self.mimetype
        return resource


@dataclass(frozen=True)
class HubDataset(DatasetDescription):
    """A hub dataset with its current version: everything a push needs to know about it."""

    version: int
    content_sha256: str
    url: str  # the dataset on the hub
    resources: tuple[ResourceSpec, ...] = ()


@dataclass(frozen=True)
class DesiredOrganisation:
    name: str
    title: str

    def as_ckan(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title,
                "extras": [{"key": MANAGED_MARK, "value": "true"}]}


def desired_organisation(dataset: HubDataset, override: str | None = None) -> DesiredOrganisation:
    """The organisation a dataset goes to: ``override`` (``--organization``) or its own."""
    if override:
        return DesiredOrganisation(name=organisation_name(override), title=override)
    return DesiredOrganisation(name=organisation_name(dataset.organisation),
                               title=dataset.organisation)


def desired_package(dataset: HubDataset, organisation: DesiredOrganisation) -> dict[str, Any]:
    """The managed part of the CKAN package for ``dataset`` (what the hub writes)."""
    notes = "\n\n".join(p for p in (dataset.description_ja, dataset.description_en) if p)
    extras = {
        "hub_dataset_id": dataset.id,
        "hub_version": str(dataset.version),
        "hub_content_sha256": dataset.content_sha256,
        "hub_url": dataset.url,
        "hub_licence": dataset.licence.id,
        "title_en": dataset.title_en,
        MANAGED_MARK: "true",
    }
    return {
        "name": package_name(dataset.id),
        "title": dataset.title_ja or dataset.title_en,
        "notes": notes,
        "owner_org": organisation.name,
        "license_id": dataset.licence.ckan_id,
        "tags": ckan_tags(dataset.keywords),
        "extras": extras,
        "resources": [r.as_ckan(dataset.version) for r in dataset.resources],
    }


# -- current state --------------------------------------------------------------------------


def extras_of(package: Mapping[str, Any]) -> dict[str, str]:
    """A CKAN package's extras as a dict (package_show returns a list of key/value pairs)."""
    raw = package.get("extras") or []
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(e.get("key")): str(e.get("value")) for e in raw}


def is_hub_managed(package: Mapping[str, Any]) -> bool:
    return extras_of(package).get(MANAGED_MARK, "").lower() == "true"


def is_hub_resource(resource: Mapping[str, Any]) -> bool:
    return bool(resource.get("hub_version"))


def managed_view(package: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a CKAN package (as package_show returns it) that the hub manages, in the
    shape of :func:`desired_package`, so the two compare with ``==``."""
    organisation = package.get("organization") or {}
    extras = extras_of(package)
    return {
        "name": package.get("name"),
        "title": package.get("title") or "",
        "notes": package.get("notes") or "",
        "owner_org": organisation.get("name") if isinstance(organisation, dict) else None,
        "license_id": package.get("license_id") or "notspecified",
        "tags": sorted(t["name"] for t in package.get("tags") or []),
        "extras": {k: extras[k] for k in HUB_EXTRAS if k in extras},
        "resources": [_resource_view(r) for r in package.get("resources") or []
                      if is_hub_resource(r)],
    }


def _resource_view(resource: Mapping[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for key in RESOURCE_FIELDS:
        value = resource.get(key)
        if key == "description" and value is None:
            value = ""
        if value is None or (key in ("size", "hash", "mimetype") and value == ""):
            continue
        if key == "size":
            value = int(value)
        if key == "hub_version":
            value = str(value)
        view[key] = value
    return view


def _normalised_resources(resources: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    # CKAN canonicalises formats (csv -> CSV): compare them case-insensitively.
    return [{**r, "format": str(r.get("format", "")).lower()} for r in resources]


def differences(desired: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Human-readable list of what an update would change (empty: nothing)."""
    now = managed_view(current)
    changes: list[str] = []
    for key in ("title", "notes", "owner_org", "license_id"):
        if desired[key] != now[key]:
            changes.append(f"{key}: {_short(now[key])} -> {_short(desired[key])}")
    if desired["tags"] != now["tags"]:
        added = sorted(set(desired["tags"]) - set(now["tags"]))
        removed = sorted(set(now["tags"]) - set(desired["tags"]))
        changes.append("tags:" + "".join(f" +{t}" for t in added)
                       + "".join(f" -{t}" for t in removed))
    for key, value in desired["extras"].items():
        if now["extras"].get(key) != value:
            changes.append(f"extras.{key}: {_short(now['extras'].get(key))} -> {_short(value)}")
    want = _normalised_resources(desired["resources"])
    have = _normalised_resources(now["resources"])
    if want != have:
        want_urls = {r["url"] for r in want}
        have_urls = {r["url"] for r in have}
        added = len(want_urls - have_urls)
        removed = len(have_urls - want_urls)
        changed = sum(1 for r in want if r["url"] in have_urls and r not in have)
        parts = [f"+{added}" if added else "", f"-{removed}" if removed else "",
                 f"~{changed}" if changed else ""]
        summary = " ".join(p for p in parts if p) or "reordered"
        changes.append(f"resources: {summary}")
    return changes


def _short(value: Any, limit: int = 40) -> str:
    text = "(none)" if value in (None, "") else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the plan -------------------------------------------------------------------------------


@dataclass
class OrganisationAction:
    name: str
    title: str
    action: Literal["create", "update", "unchanged"]
    changes: list[str] = field(default_factory=list)
    current: dict[str, Any] | None = None


@dataclass
class PackageAction:
    """One package's action, with the payload the apply step needs."""

    dataset_id: str | None  # None for deletes of packages whose dataset is gone
    name: str
    organisation: str | None
    action: Action
    changes: list[str] = field(default_factory=list)
    desired: dict[str, Any] | None = None
    current: dict[str, Any] | None = None
    reason: str = ""

    @property
    def writes(self) -> bool:
        return self.action in ("create", "update", "delete")


@dataclass
class Plan:
    organisations: list[OrganisationAction]
    packages: list[PackageAction]

    @property
    def write_count(self) -> int:
        return (sum(1 for o in self.organisations if o.action != "unchanged")
                + sum(1 for p in self.packages if p.writes))

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for item in self.packages:
            result[item.action] = result.get(item.action, 0) + 1
        return result


def make_plan(
    datasets: Sequence[HubDataset],
    current_packages: Mapping[str, Mapping[str, Any] | None],
    current_organisations: Mapping[str, Mapping[str, Any] | None],
    *,
    managed_elsewhere: Sequence[Mapping[str, Any]] = (),
    organisation_override: str | None = None,
    hub_base_url: str | None = None,
) -> Plan:
    """Compare desired and current state.

    ``current_packages``: package name -> package_show result (None: absent), for every
    desired package. ``current_organisations``: organisation name -> organization_show result
    (None: absent). ``managed_elsewhere``: hub-managed packages found in CKAN (a full push
    passes them; a ``--dataset`` push passes none), those whose dataset is not in
    ``datasets`` and whose ``hub_url`` starts with ``hub_base_url`` become deletes.
    """
    organisations: dict[str, OrganisationAction] = {}
    packages: list[PackageAction] = []
    for dataset in datasets:
        org = desired_organisation(dataset, organisation_override)
        if org.name not in organisations:
            organisations[org.name] = _organisation_action(org, current_organisations.get(org.name))
        desired = desired_package(dataset, org)
        name = desired["name"]
        current = current_packages.get(name)
        if current is None or (current.get("state") == "deleted" and is_hub_managed(current)):
            action: Action = "create"
            packages.append(PackageAction(dataset.id, name, org.name, action,
                                          [f"version {dataset.version}, "
                                           f"{len(desired['resources'])} resource(s)"],
                                          desired, dict(current) if current else None))
            continue
        current_id = extras_of(current).get("hub_dataset_id")
        if not is_hub_managed(current):
            packages.append(PackageAction(
                dataset.id, name, org.name, "conflict", desired=desired, current=dict(current),
                reason=f"a CKAN package named {name!r} exists and was not created by the hub "
                       "(no hub_managed=true extra); left alone"))
            continue
        if current_id and current_id != dataset.id:
            packages.append(PackageAction(
                dataset.id, name, org.name, "conflict", desired=desired, current=dict(current),
                reason=f"package {name!r} is managed for hub dataset {current_id!r}; left alone"))
            continue
        changes = differences(desired, current)
        packages.append(PackageAction(dataset.id, name, org.name,
                                      "update" if changes else "unchanged", changes,
                                      desired, dict(current)))
    wanted = {p.name for p in packages}
    for package in managed_elsewhere:
        name = str(package.get("name"))
        if name in wanted or not is_hub_managed(package) or package.get("state") == "deleted":
            continue
        url = extras_of(package).get("hub_url", "")
        if hub_base_url and not url.startswith(hub_base_url.rstrip("/") + "/"):
            continue  # managed by another hub pushing to the same CKAN
        dataset_id = extras_of(package).get("hub_dataset_id")
        organisation = package.get("organization") or {}
        packages.append(PackageAction(
            None, name, organisation.get("name") if isinstance(organisation, dict) else None,
            "delete", [f"hub dataset {dataset_id!r} is no longer in the catalogue"],
            current=dict(package)))
    return Plan(list(organisations.values()), packages)


def _organisation_action(org: DesiredOrganisation,
                         current: Mapping[str, Any] | None) -> OrganisationAction:
    if current is None or current.get("state") == "deleted":
        return OrganisationAction(org.name, org.title, "create", [f"title: {org.title}"])
    # Only organisations the hub created get their title corrected; others are used as they are.
    if is_hub_managed(current) and (current.get("title") or "") != org.title:
        return OrganisationAction(org.name, org.title, "update",
                                  [f"title: {_short(current.get('title'))} -> {_short(org.title)}"],
                                  dict(current))
    return OrganisationAction(org.name, org.title, "unchanged", current=dict(current))


def package_for_update(desired: Mapping[str, Any], current: Mapping[str, Any],
                       organisation_id: str | None = None) -> dict[str, Any]:
    """The full package_update payload: the current package with the managed fields replaced.

    Extras and resources the hub did not write are kept; hub resources are replaced by the
    desired ones (superseded versions' files disappear), reusing the ids of resources with the
    same URL so CKAN updates them in place.
    """
    payload = {k: v for k, v in current.items()
               if k not in ("organization", "tags", "extras", "resources", "groups",
                            "relationships_as_object", "relationships_as_subject",
                            "tracking_summary", "num_tags", "num_resources")}
    payload["groups"] = [{"name": g["name"]} for g in current.get("groups") or []]
    payload.update({k: desired[k] for k in ("name", "title", "notes", "license_id")})
    payload["owner_org"] = organisation_id or desired["owner_org"]
    payload["tags"] = [{"name": t} for t in desired["tags"]]
    other_extras = [{"key": k, "value": v} for k, v in extras_of(current).items()
                    if k not in HUB_EXTRAS]
    payload["extras"] = other_extras + [{"key": k, "value": v}
                                        for k, v in desired["extras"].items()]
    existing_by_url = {r.get("url"): r for r in current.get("resources") or []
                       if is_hub_resource(r)}
    resources = []
    for resource in desired["resources"]:
        merged = dict(resource)
        previous = existing_by_url.get(resource["url"])
        if previous is not None and previous.get("id"):
            merged["id"] = previous["id"]
        resources.append(merged)
    others = [r for r in current.get("resources") or [] if not is_hub_resource(r)]
    payload["resources"] = resources + others
    return payload


def package_for_create(desired: Mapping[str, Any], organisation_id: str | None = None
                       ) -> dict[str, Any]:
    """The package_create payload for a desired package."""
    payload = dict(desired)
    payload["owner_org"] = organisation_id or desired["owner_org"]
    payload["tags"] = [{"name": t} for t in desired["tags"]]
    payload["extras"] = [{"key": k, "value": v} for k, v in desired["extras"].items()]
    payload["resources"] = [dict(r) for r in desired["resources"]]
    return payload
