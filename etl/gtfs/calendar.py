"""Which services run on which dates (calendar.txt weekly patterns, then calendar_dates.txt
exceptions), and the "typical" weekday, Saturday and Sunday of a feed.

A typical day of a kind (Monday-Friday, Saturday, Sunday) is the date of that kind whose set
of running services occurs most often over the feed's dates; ties go to the set with more
trips, then to the earliest date. Public holidays therefore do not become the typical
weekday (their service set is rare), and neither does a one-off festival timetable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from etl.gtfs.spec import WEEKDAYS

DAY_KINDS = {"weekday": (0, 1, 2, 3, 4), "saturday": (5,), "sunday": (6,)}


def service_dates(calendar: pd.DataFrame, calendar_dates: pd.DataFrame) -> pd.DataFrame:
    """Every (service_id, date) on which a service runs; ``date`` is a numpy datetime64.

    ``calendar`` has service_id, monday..sunday (0/1), start_date, end_date (ISO text);
    ``calendar_dates`` has service_id, date (ISO text), exception_type (1 added, 2 removed).
    """
    parts = []
    for row in calendar.itertuples(index=False):
        if row.start_date is None or row.end_date is None:
            continue
        days = pd.date_range(row.start_date, row.end_date, freq="D")
        flags = np.array([getattr(row, d) == 1 for d in WEEKDAYS])
        days = days[flags[days.day_of_week]]
        parts.append(pd.DataFrame({"service_id": row.service_id, "date": days}))
    base = (pd.concat(parts, ignore_index=True) if parts
            else pd.DataFrame({"service_id": pd.Series([], dtype=object),
                               "date": pd.Series([], dtype="datetime64[ns]")}))
    if len(calendar_dates):
        exceptions = pd.DataFrame({
            "service_id": calendar_dates["service_id"],
            "date": pd.to_datetime(calendar_dates["date"], errors="coerce"),
            "exception_type": calendar_dates["exception_type"],
        }).dropna(subset=["date"])
        removed = exceptions[exceptions["exception_type"] == 2]
        if len(removed):
            keys = pd.MultiIndex.from_frame(removed[["service_id", "date"]])
            base = base[~pd.MultiIndex.from_frame(base[["service_id", "date"]]).isin(keys)]
        added = exceptions.loc[exceptions["exception_type"] == 1, ["service_id", "date"]]
        base = pd.concat([base, added], ignore_index=True)
    return base.drop_duplicates().sort_values(["date", "service_id"]).reset_index(drop=True)


@dataclass(frozen=True)
class TypicalDay:
    kind: str  # weekday | saturday | sunday
    date: dt.date | None
    services: frozenset[str]


def typical_days(dates: pd.DataFrame, trips_per_service: pd.Series) -> dict[str, TypicalDay]:
    """The typical weekday, Saturday and Sunday; see the module docstring."""
    found: dict[str, TypicalDay] = {}
    if dates.empty:
        return {k: TypicalDay(k, None, frozenset()) for k in DAY_KINDS}
    per_day = dates.groupby("date")["service_id"].agg(lambda s: frozenset(s))
    frame = pd.DataFrame({"date": per_day.index, "services": per_day.to_numpy()})
    frame["dow"] = frame["date"].dt.day_of_week
    counts = trips_per_service.to_dict()
    for kind, dows in DAY_KINDS.items():
        candidates = frame[frame["dow"].isin(dows)]
        if candidates.empty:
            found[kind] = TypicalDay(kind, None, frozenset())
            continue
        occurrences = candidates["services"].value_counts(sort=False)
        trips = {s: sum(counts.get(x, 0) for x in s) for s in occurrences.index}
        first = candidates.groupby("services", sort=False)["date"].min()
        best = max(occurrences.index,
                   key=lambda s: (occurrences[s], trips[s], -first[s].value))
        found[kind] = TypicalDay(kind, first[best].date(), best)
    return found


def date_range(dates: pd.DataFrame) -> tuple[dt.date, dt.date] | None:
    """First and last date on which any service runs."""
    if dates.empty:
        return None
    return dates["date"].min().date(), dates["date"].max().date()
