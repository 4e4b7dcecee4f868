import datetime as dt

from gnp.gold.stage import GoldPlan


def test_the_monthly_table_reads_every_day_of_the_months_touched():
    backfill = GoldPlan((dt.date(2025, 10, 9), dt.date(2025, 10, 10)), (dt.date(2025, 10, 1),), False)
    across = GoldPlan((dt.date(2025, 9, 30), dt.date(2025, 10, 1)), (dt.date(2025, 9, 1), dt.date(2025, 10, 1)), False)

    found = [(p.read_days[0], p.read_days[-1], len(p.read_days)) for p in (backfill, across)]

    # A backfill of 10 October must not rebuild October's histogram from 1-10 October only.
    expected = [(dt.date(2025, 10, 1), dt.date(2025, 10, 31), 31), (dt.date(2025, 9, 1), dt.date(2025, 10, 31), 61)]
    assert found == expected, f"expected {expected}, found {found}"
    assert GoldPlan((), (), False).read_days == []
