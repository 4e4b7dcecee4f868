"""Numbers, names and the per-key summary every ranking starts from."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from gnp.chapters import wording as w


def test_numbers_are_written_with_separators_and_the_approximation_mark():
    assert w.mbps(78.04) == "≈78.0 Mbps" and w.mbps(1234.4) == "≈1,234 Mbps"
    assert w.pct(0.584) == "58%" and w.signed_pct(-0.052) == "-5%" and w.count(212313.0) == "212,313"
    assert w.period(dt.date(2024, 12, 9), dt.date(2025, 2, 6)) == "9 Dec 2024 to 6 Feb 2025"
    assert w.period(dt.date(2025, 10, 26), dt.date(2025, 10, 26)) == "26 Oct 2025"


def test_names_lists_a_few_and_counts_the_rest():
    assert w.names(["A"]) == "A" and w.names(["A", "B"]) == "A and B"
    assert w.names(["A", "B", "C"]) == "A, B and C"
    assert w.names(list("ABCDEF")) == "A, B, C and 3 others"


def test_times_is_empty_when_the_ratio_means_nothing():
    assert w.times(6.0, 2.0) == "3.0" and w.times(1.0, 0.0) == "" and w.times(1.0, math.nan) == ""


def test_summarise_weights_by_users_skips_suppressed_days_and_flags_thin_and_hidden():
    daily = pd.DataFrame({
        "key": ["a", "a", "a", "b", "c"],
        "name": ["A", "A", "A", "B", None],
        "users": [100.0, 300.0, None, 10.0, None],
        "download_median_mbps": [10.0, 20.0, None, 50.0, None],
        "is_suppressed": [False, False, True, False, True],
    })
    out = w.summarise(daily, "key", "name", ("download_median_mbps",)).set_index("key")
    assert out.loc["a", "download_median_mbps"] == 17.5, out  # (100*10 + 300*20) / 400
    assert (out.loc["a", "days"], out.loc["a", "suppressed_days"], out.loc["a", "user_days"]) == (3, 1, 400)
    assert not out.loc["a", "is_thin"] and out.loc["b", "is_thin"]  # 10 user-days < THIN_USER_DAYS
    assert out.loc["c", "is_suppressed"] and not out.loc["c", "is_thin"] and out.loc["c", "label"] == "c"
    assert math.isnan(out.loc["c", "download_median_mbps"])


def test_the_suppressed_note_names_what_was_left_out_and_why():
    assert w.suppressed_note([], "their figures", 5) == ""
    note = w.suppressed_note(["Χίου", "Λέσβου"], "their figures", 5)
    assert note.startswith("Λέσβου and Χίου were left out") and "fewer than 5 users" in note
