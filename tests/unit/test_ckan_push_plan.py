"""etl.ckan.plan is pure: desired state + current CKAN state -> actions. No network here."""

from __future__ import annotations

from typing import Any

import pytest

from etl.ckan.plan import (
    HubDataset,
    ResourceSpec,
    clean_tags,
    desired_organisation,
    desired_package,
    licence_id,
    make_plan,
    organisation_name,
    package_for_create,
    package_for_update,
    package_name,
)

HUB = "https://hub.example.org"


def dataset(version: int = 1, **overrides: Any) -> HubDataset:
    values: dict[str, Any] = {
        "id": "kobe-aed",
        "title_ja": "神戸市 AED設置場所",
        "title_en": "Kobe: AED locations",
        "description_ja": "AEDの一覧",
        "description_en": "AEDs in Kobe",
        "organisation": "神戸市 (Kobe City)",
        "licence": "CC BY 4.0",
        "keywords": ("AED", "救急", "first aid", "a/b", "x"),
        "version": version,
        "content_sha256": f"sha{version}",
        "url": f"{HUB}/v1/datasets/kobe-aed",
        "resources": (
            ResourceSpec(f"kobe-aed-v{version}.csv",
                         f"{HUB}/v1/datasets/kobe-aed/versions/{version}/download.csv", "CSV",
                         size=100 + version, hash=f"sha256:{version:064x}"),
        ),
    }
    values.update(overrides)
    return HubDataset(**values)


def as_ckan(desired: dict[str, Any], org_title: str = "神戸市 (Kobe City)",
            **extra: Any) -> dict[str, Any]:
    """What CKAN's package_show returns after package_create(desired)."""
    package = package_for_create(desired)
    package.update({
        "id": "pkg-1", "state": "active", "owner_org": "org-id-1",
        "organization": {"id": "org-id-1", "name": desired["owner_org"], "title": org_title},
        "tags": [{"name": t, "display_name": t} for t in desired["tags"]],
        "resources": [{**r, "id": f"res-{i}", "format": r["format"].upper(),
                       "package_id": "pkg-1", "mimetype": None}
                      for i, r in enumerate(desired["resources"])],
        "groups": [],
    })
    package.update(extra)
    return package


def test_names_are_ckan_valid_and_stable() -> None:
    assert organisation_name("神戸市 (Kobe City)") == "kobe-city"
    assert organisation_name("焼津市 (Yaizu City)") == "yaizu-city"
    japanese_only = organisation_name("高松市")
    assert japanese_only.startswith("org-") and len(japanese_only) == 14
    assert japanese_only == organisation_name("高松市")  # stable
    assert organisation_name("Ｋｏｂｅ　Ｃｉｔｙ") == "kobe-city"  # full-width, NFKC
    assert package_name("kobe-aed") == "kobe-aed"
    assert package_name("x") .startswith("dataset-")


def test_tags_follow_ckan_rules() -> None:
    tags = clean_tags(["AED", "a/b", "x", "救急", "first aid", "AED", "c&d (e)", "y" * 150])
    assert tags == sorted(tags)
    assert "a b" in tags and "c d e" in tags and "救急" in tags and "first aid" in tags
    assert "x" not in tags  # shorter than 2 characters
    assert tags.count("AED") == 1
    assert all(len(t) <= 100 for t in tags)


@pytest.mark.parametrize(("text", "expected"), [
    ("CC BY 4.0", "cc-by"),
    ("CC BY 3.0 (as stated in the file: http://creativecommons.org/licenses/by/3.0/deed.ja)",
     "cc-by"),
    ("クリエイティブ・コモンズ CC BY-SA 2.1", "cc-by-sa"),
    ("CC0", "cc-zero"),
    ("ODbL 1.0 (OpenStreetMap)", "odc-odbl"),
    ("公共データ利用規約（第1.0版）", "other-open"),
    ("unverified, believed CC BY 2.1 JP/4.0 — see SOURCE.md", "notspecified"),
    ("all rights reserved", "notspecified"),
])
def test_licences_map_to_ckan_ids(text: str, expected: str) -> None:
    assert licence_id(text) == expected


def test_new_dataset_is_created_with_its_organisation() -> None:
    plan = make_plan([dataset()], {"kobe-aed": None}, {"kobe-city": None}, hub_base_url=HUB)
    assert [(o.name, o.action) for o in plan.organisations] == [("kobe-city", "create")]
    [action] = plan.packages
    assert (action.name, action.action) == ("kobe-aed", "create")
    desired = action.desired
    assert desired is not None
    assert desired["extras"]["hub_managed"] == "true"
    assert desired["extras"]["hub_version"] == "1"
    assert desired["license_id"] == "cc-by"
    assert desired["resources"][0]["hash"].startswith("sha256:")
    assert plan.write_count == 2


def test_unchanged_package_plans_no_write() -> None:
    desired = desired_package(dataset(), desired_organisation(dataset()))
    current = as_ckan(desired)
    plan = make_plan([dataset()], {"kobe-aed": current},
                     {"kobe-city": {"name": "kobe-city", "title": "神戸市 (Kobe City)",
                                    "state": "active", "extras": []}}, hub_base_url=HUB)
    assert [p.action for p in plan.packages] == ["unchanged"]
    assert [o.action for o in plan.organisations] == ["unchanged"]
    assert plan.write_count == 0


def test_new_version_updates_and_drops_superseded_resources() -> None:
    old = desired_package(dataset(1), desired_organisation(dataset(1)))
    current = as_ckan(old)
    current["resources"].append({"id": "manual", "name": "a map made by hand",
                                 "url": "https://example.org/map", "format": "HTML"})
    current["extras"].append({"key": "maintainer_note", "value": "kept"})
    plan = make_plan([dataset(2)], {"kobe-aed": current}, {"kobe-city": None})
    [action] = plan.packages
    assert action.action == "update"
    assert any(c.startswith("extras.hub_version: 1 -> 2") for c in action.changes)
    assert "resources: +1 -1" in action.changes
    assert action.desired is not None
    payload = package_for_update(action.desired, current)
    urls = [r["url"] for r in payload["resources"]]
    assert urls == [f"{HUB}/v1/datasets/kobe-aed/versions/2/download.csv",
                    "https://example.org/map"]  # v1 file gone, the hand-made one kept
    extras = {e["key"]: e["value"] for e in payload["extras"]}
    assert extras["maintainer_note"] == "kept" and extras["hub_version"] == "2"


def test_same_named_package_not_managed_by_the_hub_is_a_conflict() -> None:
    desired = desired_package(dataset(), desired_organisation(dataset()))
    theirs = as_ckan(desired)
    theirs["extras"] = [{"key": "source", "value": "city staff"}]
    plan = make_plan([dataset()], {"kobe-aed": theirs}, {"kobe-city": None})
    [action] = plan.packages
    assert action.action == "conflict"
    assert "not created by the hub" in action.reason
    assert plan.write_count == 1  # only the organisation


def test_managed_packages_of_removed_datasets_are_deleted_on_full_push_only() -> None:
    gone = {"name": "old-dataset", "state": "active", "id": "p-old",
            "organization": {"name": "kobe-city"},
            "extras": [{"key": "hub_managed", "value": "true"},
                       {"key": "hub_dataset_id", "value": "old-dataset"},
                       {"key": "hub_url", "value": f"{HUB}/v1/datasets/old-dataset"}]}
    other_hub = {**gone, "name": "other", "extras": [
        {"key": "hub_managed", "value": "true"},
        {"key": "hub_url", "value": "https://other-hub.example/v1/datasets/other"}]}
    plan = make_plan([dataset()], {"kobe-aed": None}, {"kobe-city": None},
                     managed_elsewhere=[gone, other_hub], hub_base_url=HUB)
    assert [(p.name, p.action) for p in plan.packages] == [("kobe-aed", "create"),
                                                          ("old-dataset", "delete")]
    partial = make_plan([dataset()], {"kobe-aed": None}, {"kobe-city": None}, hub_base_url=HUB)
    assert [p.action for p in partial.packages] == ["create"]


def test_organisation_override_and_title_changes() -> None:
    plan = make_plan([dataset()], {"kobe-aed": None},
                     {"city-portal": {"name": "city-portal", "title": "Old", "state": "active",
                                      "extras": [{"key": "hub_managed", "value": "true"}]}},
                     organisation_override="City Portal")
    assert [(o.name, o.action) for o in plan.organisations] == [("city-portal", "update")]
    assert plan.packages[0].desired["owner_org"] == "city-portal"  # type: ignore[index]
    not_ours = make_plan([dataset()], {"kobe-aed": None},
                         {"city-portal": {"name": "city-portal", "title": "Theirs",
                                          "state": "active"}},
                         organisation_override="City Portal")
    assert not_ours.organisations[0].action == "unchanged"  # used as it is, never retitled


def test_deleted_hub_package_is_recreated() -> None:
    desired = desired_package(dataset(), desired_organisation(dataset()))
    current = as_ckan(desired, state="deleted")
    plan = make_plan([dataset()], {"kobe-aed": current}, {"kobe-city": None})
    assert plan.packages[0].action == "create"
    assert plan.packages[0].current is not None  # applied as an update that re-activates it
