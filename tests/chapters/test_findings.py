"""The chapters' sentences from small frames: names and numbers come from the data, caveats from suppression."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from gnp.chapters import frustration, providers, regions
from gnp.chapters import wording as w
from gnp.core.schemas import ALL_ISPS

D1, D2, D3, D4 = (dt.date(2025, 10, d) for d in (25, 26, 27, 28))


def _cell(day, level, area_id, area, users, down, suppressed=False):
    return {"measurement_date": pd.Timestamp(day), "area_level": level, "area_id": area_id, "area": area,
            "periphery": area, "tests": 1, "users": None if suppressed else users,
            "download_median_mbps": None if suppressed else down, "upload_median_mbps": None if suppressed else down / 10,
            "rtt_median_ms": 20.0, "is_suppressed": suppressed}


def area_days(attica_second_half=80.0) -> pd.DataFrame:
    rows = []
    for day in (D1, D2, D3, D4):
        late = day >= D3
        rows += [_cell(day, "country", "GR", "ΕΛΛΑΔΑ", 500, 50.0 if not late else 55.0),
                 _cell(day, "periphery", "9", "ΑΤΤΙΚΗΣ", 200, 80.0 if not late else attica_second_half),
                 _cell(day, "periphery", "13", "ΚΡΗΤΗΣ", 100, 40.0 if not late else 44.0),
                 _cell(day, "periphery", "6", "ΙΟΝΙΩΝ ΝΗΣΩΝ", 10, 30.0),  # thin: 40 user-days
                 _cell(day, "periphery", "11", "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ", None, None, suppressed=True),
                 _cell(day, "regional_unit", "0901", "Πειραιώς", 50, 70.0, suppressed=day == D1)]
    return pd.DataFrame(rows)


def test_regions_name_the_fastest_and_slowest_and_hedge_thin_and_suppressed():
    text = " ".join(regions.findings({"area_days": area_days()}, k=5)["ranking"])
    assert ("Of 2 peripheries with 50 or more user-days, the fastest was ΑΤΤΙΚΗΣ with a median download of "
            "≈80.0 Mbps, and the slowest ΚΡΗΤΗΣ with ≈42.0 Mbps, 1.9 times slower.") in text, text
    assert "1 more rests on fewer than 50 user-days (ΙΟΝΙΩΝ ΝΗΣΩΝ) and is not compared here" in text
    assert "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ was left out: every day of the period had fewer than 5 users" in text


def test_regions_on_thin_data_only_rank_with_a_hedge_on_every_name():
    thin = area_days()[lambda f: f["area_id"].isin(["6", "13"])].assign(
        users=lambda f: f["users"].where(f["area_id"] != "13", 5.0))
    text = " ".join(regions.findings({"area_days": thin}, k=5)["ranking"])
    assert ("the fastest was ΚΡΗΤΗΣ with a median download of ≈42.0 Mbps (only 20 user-days: read with care), "
            "and the slowest ΙΟΝΙΩΝ ΝΗΣΩΝ with ≈30.0 Mbps, 1.4 times slower (only 40 user-days") in text, text
    assert "Every ranked periphery rests on fewer than 50 user-days, so this ranking is indicative only." in text
    moved = " ".join(regions.findings({"area_days": thin}, k=5)["change"])
    assert "Greece as a whole had too few users in one of them" in moved, moved
    assert "Of the 2 peripheries with enough users in both halves, ΚΡΗΤΗΣ rose most (+10%)" in moved
    assert "read these as indicative" in moved


def test_regions_sentences_follow_the_data():
    before = regions.findings({"area_days": area_days()}, k=5)
    after = regions.findings({"area_days": area_days(attica_second_half=20.0)}, k=5)
    assert "ΑΤΤΙΚΗΣ fell most (-75%)" in " ".join(after["change"]), after["change"]
    assert "ΚΡΗΤΗΣ rose most (+10%)" in " ".join(before["change"]), before["change"]
    assert "went from ≈50.0 Mbps to ≈55.0 Mbps (+10%)" in before["change"][0]
    assert before["ranking"] != after["ranking"]


def test_regions_partly_suppressed_areas_are_counted_and_one_day_has_no_change():
    units = regions.findings({"area_days": area_days()}, k=5)["units"]
    assert units[0].startswith("Only one regional unit can be ranked: Πειραιώς") and "1 area-days" in units[1]
    one_day = area_days()[lambda f: f["measurement_date"] == pd.Timestamp(D1)]
    assert "single day" in regions.change_sentences(one_day)[0]


def test_regions_with_nothing_ranked_say_so():
    hidden = area_days()[lambda f: f["area_id"] == "11"]
    assert regions.fastest_and_slowest(regions.ranking(hidden, "periphery"), "periphery", 5)[0] == \
        "No periphery had 5 or more users on any day of the period, so none can be ranked."


def _hours():
    rows = []
    for isp, evening_factor in ((ALL_ISPS, 0.8), ("Nova", 0.5), ("COSMOTE", 0.9), ("ΔΕΗ Fiber", None)):
        for hour in range(24):
            hidden = evening_factor is None or hour < 3
            speed = 50.0 * (evening_factor if hour >= 19 and evening_factor else 1.0)
            rows.append({"isp": isp, "hour_local": hour, "tests": 10, "users": None if hidden else 20.0,
                         "median_download_mbps": None if hidden else speed, "cells": 2,
                         "suppressed_cells": 2 if hidden else 0, "is_suppressed": hidden})
    return pd.DataFrame(rows)


def test_providers_evening_drop_is_computed_per_provider():
    drops = providers.evening_drop(_hours()).set_index("isp")
    assert np.isclose(drops.loc["Nova", "drop"], 0.5) and np.isclose(drops.loc["COSMOTE", "drop"], 0.1)
    text = " ".join(providers.evening_sentences(drops.reset_index()))
    assert "evening downloads (19:00-23:59 local time) were 20% slower" in text, text
    assert "cost most at Nova (50% below" in text and "least at COSMOTE (10% below" in text
    assert "of the providers' day-hour cells had too few users" in text


def test_providers_attainment_names_best_and_worst_and_the_suppressed():
    frame = pd.DataFrame({"isp": [ALL_ISPS, "Nova", "Inalan", "ΔΕΗ Fiber"], "user_days": [900, 300, 60, None],
                          "share_reaching_high": [0.6, 0.7, 0.4, None], "is_suppressed": [False, False, False, True]})
    text = " ".join(providers.attainment_sentences(frame, 0.8, 5))
    assert "On 60% of user-days, users reached 80% of their contracted download speed" in text, text
    assert "Nova's users did so most often (70%) and Inalan's least often (40%)" in text
    assert "ΔΕΗ Fiber was left out" in text


def test_staircase_says_whether_retesting_marks_a_slow_line():
    steps = pd.DataFrame({"behaviour_bucket": ["1", "2-3", "4+"], "sessions": [800, 150, 50],
                          "median_download_mbps": [60.0, 40.0, 20.0], "median_loss_pct": [0.2, 0.6, 2.0],
                          "is_suppressed": [False, False, False]})
    text = " ".join(frustration.staircase_sentences(steps, 5))
    assert "Of 1,000 sessions, 80% were a single test" in text and "3.0 times slower" in text, text
    flat = steps.assign(median_download_mbps=[20.0, 30.0, 40.0])
    assert "not slower" in " ".join(frustration.staircase_sentences(flat, 5))
    hidden = steps.assign(is_suppressed=[False, False, True])
    assert "cannot be read" in " ".join(frustration.staircase_sentences(hidden, 5))


def test_cohorts_read_the_second_week_and_count_hidden_cohorts():
    cohorts = pd.DataFrame({
        "cohort_week": pd.to_datetime(["2025-10-20", "2025-10-20", "2025-10-27", "2025-10-27", "2025-11-03"]),
        "weeks_since_first": [0, 1, 0, 1, 0], "cohort_users": [100.0, 100.0, 300.0, 300.0, None],
        "active_users": [100.0, 40.0, 300.0, 60.0, None], "retention_share": [1.0, 0.4, 1.0, 0.2, None],
        "is_suppressed": [False, False, False, False, True]})
    text = " ".join(frustration.cohort_sentences(cohorts, 5))
    assert "≈25% tested again the following week (over 2 cohorts" in text, text  # (100*.4 + 300*.2) / 400
    assert "week of 20 Oct 2025, with 40% back" in text and "1 cohort had fewer than 5 users" in text
    short = cohorts[cohorts["weeks_since_first"] == 0]
    assert "too short" in frustration.cohort_sentences(short, 5)[0]


def test_retention_counts_every_session_and_says_when_user_counts_are_hidden():
    daily = pd.DataFrame({"session_date": pd.to_datetime(["2025-10-26", "2025-10-26", "2025-10-27", "2025-10-27"]),
                          "user_type": ["returning", "new_or_transient"] * 2, "sessions": [30, 70, 10, 90],
                          "users": [None, 60.0, None, 80.0], "is_suppressed": [True, False, True, False]})
    text = " ".join(frustration.retention_sentences(daily))
    assert "Over 2 days, 20% of 200 sessions came from returning users" in text, text
    assert "hidden on 50% of the day and user-type cells" in text
    assert frustration.retention_sentences(daily.iloc[0:0]) == ["Gold holds no sessions by user type for this period."]


def test_providers_speed_compares_solid_providers_and_names_the_thin_and_hidden():
    days = pd.DataFrame([
        {"measurement_date": pd.Timestamp(d), "isp": isp, "users": users, "download_median_mbps": down,
         "upload_median_mbps": 5.0, "rtt_median_ms": rtt, "is_suppressed": users is None}
        for d in (D1, D2) for isp, users, down, rtt in (
            (ALL_ISPS, 400.0, 50.0, 20.0), ("COSMOTE", 200.0, 60.0, 22.0), ("Nova", 100.0, 30.0, 15.0),
            ("Inalan", 5.0, 120.0, 30.0), ("ΔΕΗ Fiber", None, None, None))])
    text = " ".join(providers.speed_sentences(providers.speed_ranking(days), 5))
    assert ("Across Greece, COSMOTE was fastest among 2 providers with 50 or more user-days, with a median download "
            "of ≈60.0 Mbps; Nova was slowest at ≈30.0 Mbps, 2.0 times slower.") in text, text
    assert "Inalan had fewer than 50 user-days and is left out of that comparison." in text
    assert "The lowest round-trip time was Nova's, a median of ≈15 ms." in text and "ΔΕΗ Fiber was left out" in text


OCTOBER, NOVEMBER = dt.date(2025, 10, 1), dt.date(2025, 11, 1)


def _period(start, kind, level, area_id, area, users, down, isp=ALL_ISPS):
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return {"period_kind": kind, "period_start": pd.Timestamp(start), "period_end": pd.Timestamp(end),
            "area_level": level, "area_id": area_id, "isp": isp, "area": area, "periphery": area,
            "tests": 3 * users, "users": users, "download_median_mbps": down, "upload_median_mbps": down / 10,
            "rtt_median_ms": 18.0,
            "is_suppressed": False}


def area_months(months=(OCTOBER,)) -> pd.DataFrame:
    """Whole months whose exact medians differ from the daily cells' (so the test sees which was read)."""
    rows = []
    for i, month in enumerate(months):
        rows += [_period(month, "month", "country", "GR", "ΕΛΛΑΔΑ", 900, 47.0 + 10 * i),
                 _period(month, "month", "periphery", "9", "ΑΤΤΙΚΗΣ", 300, 71.0 + 20 * i),
                 _period(month, "month", "periphery", "13", "ΚΡΗΤΗΣ", 150, 38.5),
                 _period(month, "month", "regional_unit", "0901", "Πειραιώς", 60, 66.0)]
    return pd.DataFrame(rows)


def test_a_whole_month_ranks_on_its_exact_medians_without_the_approximation_mark():
    found = regions.findings({"area_days": area_days(), "area_periods": area_months()}, k=5)
    text = " ".join(found["ranking"])
    assert ("Of 2 peripheries ranked, the fastest was ΑΤΤΙΚΗΣ with a median download of 71.0 Mbps, and the "
            "slowest ΚΡΗΤΗΣ with 38.5 Mbps, 1.8 times slower.") in text, text
    assert "≈" not in text and "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ" not in text  # only the month was read
    assert found["units"][0].startswith("Only one regional unit can be ranked: Πειραιώς, with a median "
                                        "download of 66.0 Mbps")
    # one month has no halves made of whole periods: its halves of days stay averaged, with the mark
    assert "went from ≈50.0 Mbps to ≈55.0 Mbps (+10%)." in found["change"][0], found["change"]


def test_two_whole_months_compare_exact_halves_and_average_them_with_the_mark():
    two_months = area_months((OCTOBER, NOVEMBER))
    found = regions.findings({"area_days": area_days(), "area_periods": two_months}, k=5)
    assert found["change"][0] == ("Between the first half of the period (1 Oct 2025 to 31 Oct 2025) and the second "
                                  "(1 Nov 2025 to 30 Nov 2025), Greece's median download went from 47.0 Mbps to "
                                  "57.0 Mbps (+21%), each an exact median over users of the month."), found["change"]
    assert "ΑΤΤΙΚΗΣ rose most (+28%)" in found["change"][1]
    ranked = found["ranking"][0]
    assert "the fastest was ΑΤΤΙΚΗΣ with a median download of ≈81.0 Mbps" in ranked, ranked  # mean of 2


def test_days_that_are_not_whole_periods_keep_the_mark_and_the_chapter_says_what_is_exact():
    assert "≈80.0 Mbps" in regions.findings({"area_days": area_days(), "area_periods": area_months().iloc[0:0]},
                                            k=5)["ranking"][0]
    assert "medians over the month are exact" in w.about(OCTOBER, dt.date(2025, 10, 31), 5)
    assert "≈ users-weighted means of the exact medians of its 2 whole weeks" in w.about(
        dt.date(2025, 10, 6), dt.date(2025, 10, 19), 5)
    assert "not made of whole ISO weeks" in w.about(D1, D4, 5)


def test_providers_rank_on_a_whole_weeks_exact_medians():
    week = dt.date(2025, 10, 6)
    days = pd.DataFrame([{"measurement_date": pd.Timestamp(week), "isp": isp, "users": 100.0,
                          "download_median_mbps": 10.0, "upload_median_mbps": 1.0, "rtt_median_ms": 30.0,
                          "is_suppressed": False} for isp in (ALL_ISPS, "COSMOTE", "Nova")])
    cells = ((ALL_ISPS, 500, 50.0, 20.0), ("COSMOTE", 300, 62.0, 21.0), ("Nova", 40, 31.0, 16.0))
    whole = pd.DataFrame([{**_period(week, "week", "country", "GR", "ΕΛΛΑΔΑ", users, down, isp),
                           "rtt_median_ms": rtt} for isp, users, down, rtt in cells])
    text = " ".join(providers.speed_sentences(providers.speed_ranking(days, whole), 5))
    assert ("COSMOTE was fastest among 2 providers, with a median download of 62.0 Mbps; Nova was slowest at "
            "31.0 Mbps") in text, text
    assert "a median of 16 ms" in text and "≈" not in text


def test_the_regions_map_colours_ranked_peripheries_and_says_why_the_others_are_not():
    from gnp.chapters import figures
    from gnp.dashboard import geo

    ranked = regions.ranking(area_days(), "periphery")
    spec = figures.periphery_map(ranked, 5, "Median download by periphery").to_dict()  # validated
    rows = {r["name"]: r for r in spec["datasets"][spec["transform"][0]["from"]["data"]["name"]]}
    assert rows["ΑΤΤΙΚΗΣ"]["status"] == geo.MEASURED and rows["ΑΤΤΙΚΗΣ"]["download_median_mbps"] == 80.0
    assert rows["ΙΟΝΙΩΝ ΝΗΣΩΝ"]["status"] == geo.THIN and "Only 40 user-days" in rows["ΙΟΝΙΩΝ ΝΗΣΩΝ"]["note"]
    assert rows["ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ"]["status"] == geo.SUPPRESSED and "fewer than 5 users" in rows["ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ"]["note"]
    assert rows["ΘΕΣΣΑΛΙΑΣ"]["status"] == geo.NO_DATA and len(rows) == 14
