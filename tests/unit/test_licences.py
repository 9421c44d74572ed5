"""The licence rule (hub.licences): a dataset.toml states a licence by id, unknown ids and
ambiguous forms are refused when the definition is loaded, and CKAN's ids are read back
through the same table."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.catalog import (
    ACCEPTED_IDS,
    KNOWN_LICENCES,
    DatasetDefinition,
    DefinitionError,
    Licence,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCHEMAS = FIXTURES / "schemas"


def definition_with(tmp_path: Path, licence_toml: str, source_toml: str = "") -> Path:
    """A copy of the test-shops definition with its licence written as ``licence_toml``."""
    folder = tmp_path / "test-shops"
    folder.mkdir()
    path = folder / "dataset.toml"
    path.write_text('id = "test-shops"\nschema = "test-shops.json"\n'
                    'organisation = "テスト市 (Test City)"\nprimary_key = "shop_id"\n'
                    + licence_toml + '\n[title]\nja = "テスト"\nen = "Test"\n' + source_toml,
                    encoding="utf-8")
    return path


def load(path: Path) -> DatasetDefinition:
    return DatasetDefinition.load(path, SCHEMAS)


def test_a_known_id_loads_with_its_note(tmp_path: Path) -> None:
    path = definition_with(tmp_path, '[licence]\nid = "CC-BY-4.0"\nnote = "as stated"\n')
    licence = load(path).licence
    assert (licence.id, licence.note, licence.ckan_id) == ("CC-BY-4.0", "as stated", "cc-by")
    assert licence.dcat_iri == ("http://publications.europa.eu/resource/authority/licence/"
                                "CC_BY_4_0")
    assert licence.document_url == "https://creativecommons.org/licenses/by/4.0/"


def test_an_unknown_id_is_refused_naming_file_value_and_accepted_ids(tmp_path: Path) -> None:
    path = definition_with(tmp_path, '[licence]\nid = "CC-BY-9.0"\n')
    with pytest.raises(DefinitionError) as refused:
        load(path)
    message = str(refused.value)
    assert str(path) in message and "'CC-BY-9.0'" in message
    assert all(known in message for known in ACCEPTED_IDS)


def test_a_plain_string_licence_is_refused_with_how_to_write_it(tmp_path: Path) -> None:
    path = definition_with(tmp_path, 'licence = "CC BY 4.0"\n')
    with pytest.raises(DefinitionError) as refused:
        load(path)
    message = str(refused.value)
    assert str(path) in message and "'CC BY 4.0'" in message
    assert "[licence]" in message and 'id = "CC-BY-4.0"' in message


def test_a_missing_licence_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="missing required key 'licence'"):
        load(definition_with(tmp_path, ""))


def test_other_needs_its_title(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="'other' licence needs its 'title'"):
        load(definition_with(tmp_path, '[licence]\nid = "other"\nurl = "https://x.example"\n'))


def test_other_with_its_title_and_url_is_carried_as_written(tmp_path: Path) -> None:
    path = definition_with(tmp_path, '[licence]\nid = "other"\ntitle = "焼津市利用規約"\n'
                                     'url = "https://example.org/terms"\n')
    licence = load(path).licence
    assert (licence.label, licence.document_url, licence.dcat_iri) == (
        "焼津市利用規約", "https://example.org/terms", "https://example.org/terms")
    assert licence.ckan_id == "notspecified" and not licence.is_open


def test_a_known_id_may_not_restate_its_title_or_url(tmp_path: Path) -> None:
    path = definition_with(tmp_path, '[licence]\nid = "PDL-1.0"\nurl = "https://x.example"\n')
    with pytest.raises(DefinitionError, match="only for id = \"other\""):
        load(path)


def test_unknown_keys_in_the_licence_table_are_refused(tmp_path: Path) -> None:
    path = definition_with(tmp_path, '[licence]\nid = "CC0-1.0"\nlicense_url = "x"\n')
    with pytest.raises(DefinitionError, match=r"unknown keys \['license_url'\]"):
        load(path)


def test_a_licence_url_in_source_is_refused(tmp_path: Path) -> None:
    path = definition_with(tmp_path, '[licence]\nid = "CC0-1.0"\n',
                           '[source]\nlicence_url = "https://example.org"\n')
    with pytest.raises(DefinitionError, match=r"\[source\] licence_url is not read"):
        load(path)


def test_the_table_is_consistent() -> None:
    ids = [known.id for known in KNOWN_LICENCES]
    assert len(ids) == len(set(ids))
    ckan_ids = {"cc-by", "cc-by-sa", "cc-zero", "cc-nc", "gfdl", "notspecified", "odc-by",
                "odc-odbl", "odc-pddl", "other-at", "other-closed", "other-nc", "other-open",
                "other-pd", "uk-ogl"}  # CKAN's default register (ckan/model/license.py)
    for known in KNOWN_LICENCES:
        assert known.ckan_id in ckan_ids, known.id
        assert known.open == (known.url is not None), known.id
        assert known.title_ja != known.title_en, known.id
    exact = [known.ckan_id for known in KNOWN_LICENCES if known.ckan_names_it]
    assert len(exact) == len(set(exact))  # a CKAN id is read back as at most one licence


@pytest.mark.parametrize(("package", "expected"), [
    ({"license_id": "cc-by", "extras": [{"key": "hub_licence", "value": "CC-BY-SA-3.0"}]},
     Licence("CC-BY-SA-3.0")),
    ({"license_id": "cc-by", "license_title": "Creative Commons Attribution 4.0",
      "license_url": "https://creativecommons.org/licenses/by/4.0"}, Licence("CC-BY-4.0")),
    ({"license_id": "cc-zero", "license_title": "Creative Commons CCZero"}, Licence("CC0-1.0")),
    ({"license_id": "odc-odbl", "license_title": "Open Data Commons Open Database License"},
     Licence("ODbL-1.0")),
    ({"license_id": "notspecified", "license_title": "License not specified"},
     Licence("NOASSERTION", note="imported from CKAN, license_id 'notspecified'")),
    ({}, Licence("NOASSERTION", note="imported from CKAN, license_id ''")),
])
def test_a_ckan_licence_is_read_back_through_the_table(package: dict, expected: Licence) -> None:
    assert Licence.from_ckan(package) == expected


def test_a_vague_ckan_licence_becomes_other_with_its_title_never_a_guessed_version() -> None:
    licence = Licence.from_ckan({"license_id": "cc-by",
                                 "license_title": "Creative Commons Attribution",
                                 "license_url": "http://www.opendefinition.org/licenses/cc-by"})
    assert (licence.id, licence.title) == ("other", "Creative Commons Attribution")
    assert licence.url == "http://www.opendefinition.org/licenses/cc-by"
    assert "cc-by" in licence.note
