"""The record form is the dataset's schema, and a submitted form is the API's body (pure)."""

from __future__ import annotations

from hub.catalog import load_definition
from hub.cocreation.contributions import InvalidContribution, Problem, parse_proposal
from hub.cocreation.errors import InvalidInput
from hub.web.forms import (
    POINT_INPUT,
    field_errors,
    proposal_body,
    record_form,
)
from tests.conftest import ROOT

PLACES = load_definition("yaizu-accessible-shops", ROOT / "datasets", ROOT / "schemas")


def test_booleans_are_checkboxes_enumerations_choices_labels_japanese() -> None:
    fields = {f.field: f for f in record_form(PLACES, "ja")}
    assert fields["step_free_entrance"].control == "checkbox"
    assert fields["wheelchair"].control == "select"
    assert fields["wheelchair"].choices == ("yes", "limited", "no")
    assert fields["name"].label == "名称" and fields["name"].required
    assert not fields["name_kana"].required
    # Digits as a file would spell them (full-width too): the hub reads them, not the browser.
    assert fields["entrance_width_cm"].input_type == "text"
    assert fields["entrance_width_cm"].input_mode == "numeric"
    assert fields["name"].name == "feature.properties.name"
    assert record_form(PLACES, "en")[0].label != record_form(PLACES, "ja")[0].label


def test_the_point_fields_and_the_key_are_not_asked_for() -> None:
    names = {f.field for f in record_form(PLACES, "ja")}
    assert not names & {"latitude", "longitude", "id"}
    assert "location" in names  # not read by this dataset's [geometry]


def test_a_submitted_form_is_the_api_body() -> None:
    submitted = proposal_body(PLACES, {
        "lat": "34.8672", "lon": "138.3236", "feature.properties.name": "段差のない店",
        "feature.properties.address": "焼津市本町1-1", "feature.properties.ramp": "true",
        "feature.properties.name_kana": "", "comment": "開店しました",
        "licence_consent": "true", "csrf_token": "x"})
    assert submitted.problems == []
    assert submitted.body == {
        "kind": "new",
        "feature": {"type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [138.3236, 34.8672]},
                    "properties": {"name": "段差のない店", "address": "焼津市本町1-1",
                                   "ramp": True}},
        "comment": "開店しました", "licence_consent": True}
    parse_proposal(submitted.body)  # the API's parser takes it as it is


def test_unticked_consent_and_an_empty_point_are_the_apis_to_refuse() -> None:
    submitted = proposal_body(PLACES, {"comment": "x"})
    assert submitted.body["licence_consent"] is False
    assert submitted.body["feature"]["geometry"] is None


def test_a_point_that_is_not_two_numbers_is_a_problem_of_the_point() -> None:
    submitted = proposal_body(PLACES, {"lat": "北緯34度", "lon": "138.3"})
    assert [p.field for p in submitted.problems] == ["feature.geometry"]


def test_problems_land_beside_the_inputs_they_name() -> None:
    inputs = [f.name for f in record_form(PLACES, "en")] + [POINT_INPUT, "comment", "source"]
    error = InvalidContribution([
        Problem("feature.properties.name", "required", "name is required"),
        Problem("feature.geometry", "in-japan", "outside Japan"),
        Problem("source.when", "text", "too long"),
        Problem("record", "unique", "something else")])
    by_input, general = field_errors(error, inputs)
    assert by_input == {"feature.properties.name": ["name is required"],
                        POINT_INPUT: ["outside Japan"], "source": ["too long"]}
    assert general == ["something else"]
    assert field_errors(InvalidInput("'comment' is required", "comment"), inputs) == (
        {"comment": ["'comment' is required"]}, [])
