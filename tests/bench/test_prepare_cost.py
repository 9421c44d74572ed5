"""bench/prepare_cost.py measures what a publish sends: its stages and the COPY stream's
SHA-256, the same for the same rows whatever the file's encoding."""

from __future__ import annotations

from pathlib import Path

from bench.generate import dataset_files
from bench.prepare_cost import stages


def test_stages_of_a_small_file_and_the_copy_streams_digest(tmp_path: Path) -> None:
    utf8, cp932 = dataset_files(300, 7, tmp_path)
    measured = stages(utf8)
    assert list(measured["stages"]) == ["read", "normalise", "geometry + validate",
                                        "spatial order", "COPY text"]
    assert measured["rows"] == 300 and measured["errors"] == 0
    assert measured["copy_bytes"] > 300 * 50
    assert stages(cp932)["copy_sha256"] == measured["copy_sha256"]
