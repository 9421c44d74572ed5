"""etl.ckan.plan is pure: desired state + current CKAN state -> actions. No network here.

The current CKAN state is written out as CKAN's package_show returns it, never built with
the plan's own payload functions: a test whose "CKAN" is the hub's own output cannot notice
the hub writing something CKAN would not give back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl.ckan.plan import (
    HubDataset,
    ResourceSpec,
    desired_organisation,
    desired_package,
    make_plan,
    organisation_name,
    package_for_update,
    package_name,
)
from hub.catalog import Licence, ckan_tags, load_definition

HUB = "https://hub.example.org"
ROOT = Path(__file__).resolve().parents[2]


def dataset(version: int = 1, **overrides: Any) -> HubDataset:
    values: dict[str, Any] = {
        "id": "kobe-aed",
        "title_ja": "神戸市 AED設置場所",
        "title_en": "Kobe: AED locations",
        "description_ja": "AEDの一覧",
        "description_en": "AEDs in Kobe",
        "organisation": "神戸市 (Kobe City)",
        "licence": Licence("CC-BY-4.0"),
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


def ckan_package(version: int = 1, **changes: Any) -> dict[str, Any]:
    """package_show of the kobe-aed package after a push of ``version`` of dataset(), as a
    CKAN 2.10 returns it (ids, display names, upper-case formats, extras as a list)."""
    package: dict[str, Any] = {
        "id": "5b2c4a53-7d1f-4f6e-9b0a-0c6a2b3d4e5f", "name": "kobe-aed", "type": "dataset",
        "state": "active", "private": False, "title": "神戸市 AED設置場所",
        "notes": "AEDの一覧\n\nAEDs in Kobe",
        "owner_org": "0f4e1a8c-2b9d-4c3e-8a7f-6d5e4c3b2a19",
        "organization": {"id": "0f4e1a8c-2b9d-4c3e-8a7f-6d5e4c3b2a19", "name": "kobe-city",
                         "title": "神戸市 (Kobe City)", "type": "organization",
                         "is_organization": True, "state": "active"},
        "license_id": "cc-by", "license_title": "Creative Commons Attribution",
        "license_url": "http://www.opendefinition.org/licenses/cc-by", "isopen": True,
        "maintainer": None, "author": None, "num_tags": 4, "num_resources": 1,
        "tags": [{"id": f"tag-{i}", "name": name, "display_name": name, "state": "active",
                  "vocabulary_id": None}
                 for i, name in enumerate(["AED", "a b", "first aid", "救急"])],
        "extras": [
            {"key": "hub_content_sha256", "value": f"sha{version}"},
            {"key": "hub_dataset_id", "value": "kobe-aed"},
            {"key": "hub_licence", "value": "CC-BY-4.0"},
            {"key": "hub_managed", "value": "true"},
            {"key": "hub_url", "value": f"{HUB}/v1/datasets/kobe-aed"},
            {"key": "hub_version", "value": str(version)},
            {"key": "title_en", "value": "Kobe: AED locations"},
        ],
        "resources": [{
            "id": "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a",
            "package_id": "5b2c4a53-7d1f-4f6e-9b0a-0c6a2b3d4e5f",
            "name": f"kobe-aed-v{version}.csv",
            "url": f"{HUB}/v1/datasets/kobe-aed/versions/{version}/download.csv",
            "format": "CSV", "description": "", "mimetype": None, "size": 100 + version,
            "hash": f"sha256:{version:064x}", "hub_version": str(version), "position": 0,
            "state": "active", "url_type": None, "datastore_active": False,
        }],
        "groups": [], "relationships_as_object": [], "relationships_as_subject": [],
    }
    package.update(changes)
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
    tags = ckan_tags(["AED", "a/b", "x", "救急", "first aid", "AED", "c&d (e)", "y" * 150])
    assert tags == sorted(tags)
    assert "a b" in tags and "c d e" in tags and "救急" in tags and "first aid" in tags
    assert "x" not in tags  # shorter than 2 characters
    assert tags.count("AED") == 1
    assert all(len(t) <= 100 for t in tags)


@pytest.mark.parametrize(("licence", "expected"), [
    (Licence("CC-BY-4.0"), "cc-by"),
    (Licence("CC-BY-3.0", note="as stated in the file: .../by/3.0/deed.ja"), "cc-by"),
    (Licence("CC-BY-SA-3.0"), "cc-by-sa"),
    (Licence("CC0-1.0"), "cc-zero"),
    (Licence("ODbL-1.0"), "odc-odbl"),
    (Licence("PDL-1.0"), "other-open"),
    (Licence("NOASSERTION", note="unverified, believed CC BY 2.1 JP/4.0"), "notspecified"),
    (Licence("other", title="Yaizu terms of use", url="https://example.org/terms"),
     "notspecified"),
])
def test_the_package_carries_the_licences_ckan_id(licence: Licence, expected: str) -> None:
    desired = desired_package(dataset(licence=licence), desired_organisation(dataset()))
    assert desired["license_id"] == expected
    assert desired["extras"]["hub_licence"] == licence.id


def test_the_cc0_synthetic_dataset_is_pushed_as_cc_zero_whatever_its_note_says() -> None:
    synthetic = load_definition("bus-ridership-muroran-synthetic", ROOT / "datasets",
                                ROOT / "schemas")
    assert "CC BY-SA" in synthetic.licence.note
    desired = desired_package(dataset(licence=synthetic.licence),
                              desired_organisation(dataset()))
    assert desired["license_id"] == "cc-zero"


def test_a_licence_changed_in_the_hub_updates_the_package() -> None:
    plan = make_plan([dataset(licence=Licence("CC0-1.0"))], {"kobe-aed": ckan_package()},
                     {"kobe-city": None})
    [action] = plan.packages
    assert action.action == "update"
    assert "license_id: cc-by -> cc-zero" in action.changes
    assert "extras.hub_licence: CC-BY-4.0 -> CC0-1.0" in action.changes


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
    plan = make_plan([dataset()], {"kobe-aed": ckan_package()},
                     {"kobe-city": {"name": "kobe-city", "title": "神戸市 (Kobe City)",
                                    "state": "active", "extras": []}}, hub_base_url=HUB)
    assert [p.action for p in plan.packages] == ["unchanged"]
    assert [o.action for o in plan.organisations] == ["unchanged"]
    assert plan.write_count == 0


def test_new_version_updates_and_drops_superseded_resources() -> None:
    current = ckan_package(1)
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
    theirs = ckan_package(extras=[{"key": "source", "value": "city staff"}])
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
    plan = make_plan([dataset()], {"kobe-aed": ckan_package(state="deleted")},
                     {"kobe-city": None})
    assert plan.packages[0].action == "create"
    assert plan.packages[0].current is not None  # applied as an update that re-activates it
