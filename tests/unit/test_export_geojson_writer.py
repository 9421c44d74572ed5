"""write_geojson joins COPY's Feature lines into a FeatureCollection whatever the chunking."""

from __future__ import annotations

import io
import json

from hub.export.writers import write_geojson

FEATURES = [b'{"type" : "Feature", "id" : "a", "geometry" : null, "properties" : {"n" : 1}}',
            b'{"type" : "Feature", "id" : "b\\n", "geometry" : null, "properties" : {}}',
            b'{"type" : "Feature", "id" : 3, "geometry" : null, "properties" : {"s" : ","}}']
STREAM = b"".join(f + b"\n" for f in FEATURES)
EXPECTED = (b'{"type":"FeatureCollection","name":"shops","features":[\n'
            + b",\n".join(FEATURES) + b"\n]}\n")


def _write(chunks: list[bytes]) -> bytes:
    out = io.BytesIO()
    write_geojson(chunks, out, name="shops")
    return out.getvalue()


def test_one_feature_per_line_for_every_split_of_the_stream() -> None:
    for cut in range(len(STREAM) + 1):
        for second in range(cut, len(STREAM) + 1, 7):
            parts = [STREAM[:cut], STREAM[cut:second], STREAM[second:]]
            assert _write(parts) == EXPECTED
    document = json.loads(EXPECTED)
    assert [f["id"] for f in document["features"]] == ["a", "b\n", 3]


def test_no_features_is_an_empty_collection() -> None:
    assert json.loads(_write([])) == {"type": "FeatureCollection", "name": "shops",
                                      "features": []}
    assert _write([b""]) == _write([])
