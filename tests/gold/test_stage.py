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


def test_gold_rebuilds_every_date_silver_rewrote_even_far_apart():
    """A refetch of 28 October brought a test of 2 March: both dates, each with its day before, and their months."""
    from gnp.gold.stage import plan
    from gnp.silver.stage import SilverPlan, session_days

    partitions = (dt.date(2025, 3, 2), dt.date(2025, 10, 28))
    silver = SilverPlan(partitions[1:], partitions, partitions, tuple(session_days(partitions)), (), False)

    gold = plan(silver)

    assert gold.days == (dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 10, 27), dt.date(2025, 10, 28))
    assert gold.months == (dt.date(2025, 3, 1), dt.date(2025, 10, 1))
    # ... and their weeks, which reach into February (Saturday 1 March) and November (Tuesday 28 October).
    assert gold.period_starts == [dt.date(2025, 2, 24), dt.date(2025, 3, 1), dt.date(2025, 10, 1),
                                  dt.date(2025, 10, 27)], gold.period_starts
    assert len(gold.read_days) == 5 + 31 + 31 + 2 and "with gaps" in gold.describe(), gold.describe()
