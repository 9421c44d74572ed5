"""Publishing contributions re-reads the current version's rows as text cells; each type must
read back to the value it was, or a contribution publish would change the city's rows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine

from etl.prepare import prepare, prepare_table
from etl.publish import publish
from hub.cocreation.contribution_publishing import CurrentRows, assemble
from hub.data import Data
from hub.data.contributions import Contributions
from tests.unit.test_prepare import definition, write_crafted


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as Python values; datetimes as instants (the offset they are written with is
    the ETL's choice: +09:00 unless stated, UTC when read back)."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        if row["updated_at"] is not None:
            row["updated_at"] = datetime.fromisoformat(row["updated_at"])
    return rows


def test_every_field_type_reads_back_to_the_stored_value(db_url: str, tmp_path: Path) -> None:
    crafted = definition("etl-crafted")
    prepared = prepare(crafted, write_crafted(tmp_path), skip_invalid=True)
    engine = create_engine(db_url)
    publish(engine, prepared)
    version = Data(engine).version("etl-crafted", None)
    rows = Contributions(engine, 1).rows(version)
    assert any(r["updated_at"] for r in rows.values())  # datetimes are among them
    again = prepare_table(crafted, assemble(crafted, CurrentRows(version.version, rows, {}),
                                            []).table)
    assert again.report.errors == []
    assert records(again.frame) == records(prepared.frame)
    engine.dispose()
