"""parallel.each: several calls at once, results in order, every call finished before a failure is raised."""

from __future__ import annotations

import threading

import pytest

from gnp.lake import parallel


def test_calls_run_at_once_and_results_keep_the_items_order():
    met = threading.Barrier(3, timeout=10)  # passes only if three calls are inside at the same time

    def call(item):
        met.wait()
        return item * 10

    assert parallel.each(call, [3, 1, 2], jobs=3) == [30, 10, 20]


def test_every_call_ends_before_the_first_failure_in_the_items_order_is_raised():
    finished = []

    def call(item):
        if item in ("b", "d"):
            raise ValueError(f"table {item} failed")
        finished.append(item)
        return item

    with pytest.raises(ValueError, match="table b failed"):
        parallel.each(call, ["a", "b", "c", "d", "e"], jobs=2)
    assert sorted(finished) == ["a", "c", "e"]


def test_one_job_runs_in_the_callers_thread_one_after_another():
    threads = parallel.each(lambda _: threading.get_ident(), range(3), jobs=1)
    assert threads == [threading.get_ident()] * 3
