"""The portal's forms, built from what the API already knows (pure functions, no I/O).

A proposed record's form is the dataset's schema: each field an input named by the path the
API's contribution body uses (``feature.properties.<field>``), so the refusal the API gives
(``InvalidContribution``: field, rule, message) lands next to the input it names. Booleans
are checkboxes, enumerations choices, labels the schema's Japanese (or English) titles,
required fields marked. The point comes from two inputs, latitude and longitude, which the
map fills when JavaScript runs; the fields the dataset's ``[geometry]`` reads are not asked
for, and neither is the record's key (the hub gives a new record its key when it is
published). The submitted form becomes the API's own JSON body, which the same submission
path as ``POST /v1/datasets/{id}/contributions`` checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.catalog import DatasetDefinition, SchemaField
from hub.cocreation.contributions import InvalidContribution, Problem
from hub.cocreation.errors import Refused

PROPERTY_PREFIX = "feature.properties."
LATITUDE, LONGITUDE = "lat", "lon"
# Where the API reports a problem with the point, and the inputs that hold it.
GEOMETRY_FIELDS = ("feature.geometry", "feature")
POINT_INPUT = "point"
COMMENT, DISPLAY_NAME, SOURCE, CONSENT = "comment", "display_name", "source", "licence_consent"
# HTML input types by Table Schema type; other types are text. Numbers are text inputs with
# a numeric keyboard: the hub reads full-width digits and separators ("１,２００") as a file's
# cell, which a number input would refuse before the hub could.
INPUT_TYPES = {"date": "date", "time": "time"}
INPUT_MODES = {"integer": "numeric", "number": "decimal"}


@dataclass(frozen=True)
class FormField:
    """One input of the record form."""

    name: str  # the API body path, e.g. feature.properties.step_free
    field: str
    label: str
    control: str  # checkbox | select | input
    input_type: str = "text"
    input_mode: str | None = None
    required: bool = False
    choices: tuple[str, ...] = ()
    hint: str = ""

    @property
    def dom_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def _label(schema_field: SchemaField, language: str) -> str:
    titles = ((schema_field.title_ja, schema_field.title) if language == "ja"
              else (schema_field.title, schema_field.title_ja))
    return next((t for t in titles if t), schema_field.name)


def _input(schema_field: SchemaField, language: str) -> FormField:
    common: dict[str, Any] = {
        "name": PROPERTY_PREFIX + schema_field.name, "field": schema_field.name,
        "label": _label(schema_field, language), "required": schema_field.required,
        "hint": schema_field.description or ""}
    if schema_field.type == "boolean":
        return FormField(control="checkbox", **common)
    if schema_field.enum:
        return FormField(control="select", choices=tuple(str(v) for v in schema_field.enum),
                         **common)
    bounds = (schema_field.minimum, schema_field.maximum)
    if bounds != (None, None):
        low, high = ("" if b is None else f"{b:g}" for b in bounds)
        common["hint"] = f"{common['hint']} ({low}–{high})".strip()
    return FormField(control="input", input_type=INPUT_TYPES.get(schema_field.type, "text"),
                     input_mode=INPUT_MODES.get(schema_field.type), **common)


def geometry_fields(definition: DatasetDefinition) -> set[str]:
    """The fields the dataset's geometry is read from (filled from the point)."""
    source = definition.geometry
    return {name for name in (source.latitude, source.longitude, source.field) if name}


def record_form(definition: DatasetDefinition, language: str) -> list[FormField]:
    """The inputs of a new record of ``definition``, in schema order."""
    skipped = geometry_fields(definition) | set(definition.primary_key)
    return [_input(f, language) for f in definition.schema.fields if f.name not in skipped]


@dataclass
class SubmittedRecord:
    """A submitted record form: the API body it stands for, the values to show again, and
    the problems found before the API was asked (a point that is not two numbers)."""

    body: dict[str, Any]
    values: dict[str, str]
    problems: list[Problem] = field(default_factory=list)


def proposal_body(definition: DatasetDefinition, form: Mapping[str, str]) -> SubmittedRecord:
    """The API's contribution body (``kind`` new) for a submitted record form. Empty inputs
    and unticked checkboxes are left out: "not given", as an empty cell in a file."""
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    properties: dict[str, Any] = {}
    for item in record_form(definition, "en"):
        given = values.get(item.name, "").strip()
        if item.control == "checkbox":
            if given:
                properties[item.field] = True
        elif given:
            properties[item.field] = given
    problems: list[Problem] = []
    geometry = None
    lat, lon = values.get(LATITUDE, "").strip(), values.get(LONGITUDE, "").strip()
    if lat or lon:
        try:
            geometry = {"type": "Point", "coordinates": [float(lon), float(lat)]}
        except ValueError:
            problems.append(Problem("feature.geometry", "number", "latitude and longitude "
                                    "are decimal degrees, e.g. 34.6937 and 135.5023"))
    body: dict[str, Any] = {
        "kind": "new",
        "feature": {"type": "Feature", "geometry": geometry, "properties": properties},
        "comment": values.get(COMMENT, ""),
        "licence_consent": values.get(CONSENT) == "true",
    }
    for name in (DISPLAY_NAME, SOURCE):
        if values.get(name, "").strip():
            body[name] = values[name]
    return SubmittedRecord(body, values, problems)


def input_for(problem_field: str | None, inputs: Iterable[str]) -> str | None:
    """The form input a problem's ``field`` names: itself, the point for a geometry
    problem, or the input a nested path starts with (``source.what`` -> ``source``)."""
    if problem_field is None:
        return None
    if problem_field in GEOMETRY_FIELDS:
        return POINT_INPUT
    known = set(inputs)
    if problem_field in known:
        return problem_field
    head = problem_field.split(".", 1)[0]
    return head if head in known else None


def field_errors(error: InvalidContribution | Refused, inputs: Iterable[str]
                 ) -> tuple[dict[str, list[str]], list[str]]:
    """A refusal as messages per form input, and the messages no input holds."""
    problems = (error.problems if isinstance(error, InvalidContribution)
                else [Problem(error.field or "", error.type_, error.detail)])
    names = list(inputs)
    by_input: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        target = input_for(problem.field or None, names)
        if target is None:
            general.append(problem.message)
        else:
            by_input.setdefault(target, []).append(problem.message)
    return by_input, general
