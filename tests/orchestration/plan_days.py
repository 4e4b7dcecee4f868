"""The days and Bronze answers of the run-plan tests (the stub notebook that stores a late version reads them too)."""

from __future__ import annotations

import datetime as dt

from silver.bronze_factories import record

UTC = dt.timezone.utc
DAY, NEXT, OTHER = dt.date(2025, 11, 5), dt.date(2025, 11, 6), dt.date(2025, 11, 10)
FIRST_FETCH = dt.datetime(2025, 11, 6, 6, 0, tzinfo=UTC)
LATE_FETCH = dt.datetime(2025, 11, 7, 6, 0, tzinfo=UTC)  # a refetch of DAY, stored after the plan was made
DAY_ANSWER = [record(1, f"{DAY} 10:00:00", ip="10.0.0.1"), record(2, f"{DAY} 12:00:00", ip="10.0.0.2")]
LATE_ANSWER = DAY_ANSWER + [record(3, f"{NEXT} 09:00:00", ip="10.0.0.3")]  # brings a test of the next day
