"""The COPY stream is made a chunk ahead on a thread of its own (etl.load), and the search text
is folded a chunk at a time: the bytes must be those of the whole column folded at once."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd

from etl import normalise as norm
from etl.load import LayerData, copy_chunks, made_ahead
from hub.catalog import TableSchema

FIELDS = [{"name": "id", "type": "string"}, {"name": "name", "type": "string"},
          {"name": "ward", "type": "string"}]
NAMES = ["ｾﾝﾀｰ前", "車椅子トイレ", "バス停留所", None, "Cafe, \"Two\"", "センター", "ＡＢＣ",
         "公園", "車イス", "北ｰ1-2", "", "トイレ"]


def _layer(n: int = 40) -> LayerData:
    schema = TableSchema.from_json({"fields": FIELDS, "primaryKey": ["id"]})
    frame = pd.DataFrame({
        "id": pd.array([f"P{i:03d}" for i in range(n)], dtype="string[pyarrow]"),
        "name": pd.array([NAMES[i % len(NAMES)] for i in range(n)], dtype="string[pyarrow]"),
        "ward": pd.array(["中央区" if i % 3 else "ｷﾀ区" for i in range(n)],
                         dtype="string[pyarrow]"),
    })
    wkt = pd.Series([f"POINT ({139 + i / 100} {35 + (i * 7 % 40) / 100})" for i in range(n)],
                    dtype=object)
    return LayerData(schema, frame, wkt, ("name", "ward"))


def _cells(stream: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(stream.decode("utf-8"), newline="")))


def test_search_text_folded_per_chunk_is_the_whole_columns_fold_in_row_order() -> None:
    layer = _layer()
    order = np.random.default_rng(7).permutation(len(layer.frame))
    chunks = list(copy_chunks(layer, order, chunk_rows=7))
    assert [done for done, _ in chunks] == [7, 14, 21, 28, 35, 40]
    rows = _cells(b"".join(bytes(data) for _, data in chunks))
    whole = norm.search_text(layer.frame, ["name", "ward"]).tolist()
    assert [int(row[0]) for row in rows] == list(order + 1)  # _fid: the file position
    assert [row[-1] for row in rows] == [whole[p] for p in order]
    assert rows[0][-2].startswith("SRID=4326;POINT (")


def test_chunk_size_does_not_change_the_bytes() -> None:
    layer = _layer(53)
    order = np.random.default_rng(3).permutation(len(layer.frame))
    one = b"".join(bytes(d) for _, d in copy_chunks(layer, order, chunk_rows=1000))
    many = b"".join(bytes(d) for _, d in copy_chunks(layer, order, chunk_rows=5))
    assert one == many


def test_items_are_made_on_another_thread_in_order() -> None:
    made_on: set[int] = set()

    def items() -> Iterator[int]:
        for i in range(5):
            made_on.add(threading.get_ident())
            yield i

    assert list(made_ahead(items())) == [0, 1, 2, 3, 4]
    assert made_on and threading.get_ident() not in made_on


def test_stopping_early_closes_the_inner_stage() -> None:
    closed = threading.Event()

    def inner() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.set()

    def outer() -> Iterator[int]:
        yield from made_ahead(inner())

    stages = made_ahead(outer())
    assert next(stages) == 0
    stages.close()
    assert closed.is_set()


def test_an_error_in_a_stage_reaches_the_caller() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("bad chunk")

    stages = made_ahead(failing())
    assert next(stages) == 1
    try:
        next(stages)
    except ValueError as exc:
        assert str(exc) == "bad chunk"
    else:
        raise AssertionError("the stage's error was lost")
