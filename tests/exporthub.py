"""Test catalogue for bulk files, diffs and the change feed: the test shops (with a few cells
that look like spreadsheet formulas) and a two-layer version (shops + a non-spatial
``visits`` layer with datetime and time columns), published through the real ETL."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from etl.load import LayerData, Publishable
from etl.prepare import prepare
from etl.publish import publish, publishable
from hub.catalog import DatasetDefinition, TableSchema
from tests.shopdata import Shop, make_shops, write_csv

FORMULA_NAMES = {0: "=1+2", 1: "+81 shop", 2: "-5% sale", 3: "@home", 4: "=cmd|' /C calc'!A0"}

VISITS_SCHEMA = TableSchema.from_json({
    "fields": [
        {"name": "visit_id", "type": "integer"},
        {"name": "shop_id", "type": "string"},
        {"name": "visited_at", "type": "datetime"},
        {"name": "opens", "type": "time"},
        {"name": "note", "type": "string"},
    ],
    "primaryKey": ["visit_id"],
})


def formula_shops(n: int = 300) -> list[Shop]:
    shops = make_shops(n)
    for index, name in FORMULA_NAMES.items():
        shops[index].name = name
    return shops


def publish_shops(engine: Engine, definition: DatasetDefinition, folder: Path,
                  shops: list[Shop], name: str, **kwargs: object):
    return publish(engine, prepare(definition, write_csv(folder / name, shops)), **kwargs)


def visits_layer(n: int = 40) -> LayerData:
    frame = pd.DataFrame({
        "visit_id": pd.array(range(1, n + 1), dtype="Int64"),
        "shop_id": [f"S{(i % 7) + 1:04d}" for i in range(n)],
        "visited_at": [f"2024-04-{(i % 28) + 1:02d}T09:{i % 60:02d}:00+09:00" for i in range(n)],
        "opens": [None if i % 5 == 0 else f"{8 + i % 4:02d}:30:00" for i in range(n)],
        "note": [None if i % 3 == 0 else f"visit, \"quoted\" {i}" for i in range(n)],
    })
    return LayerData(VISITS_SCHEMA, frame, None, ("note",))


def publish_two_layers(engine: Engine, definition: DatasetDefinition, folder: Path,
                       shops: list[Shop], visits: int = 40):
    """A version whose main layer is ``shops`` and which has a ``visits`` layer."""
    data = publishable(prepare(definition, write_csv(folder / "layers.csv", shops)))
    data = replace(data, main_layer="shops", extra_layers={"visits": visits_layer(visits)})
    assert isinstance(data, Publishable)
    return publish(engine, data, force=True)
