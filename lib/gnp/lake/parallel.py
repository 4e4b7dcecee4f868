"""Independent Spark jobs side by side, from threads on one session.

A stage's tables are independent: each write or read-back is a handful of
small Spark jobs whose time is mostly the driver's (Delta's log, planning, a
commit), not the cores'. Run one after another, a day's fourteen Gold tables
cost their fixed costs fourteen times over; run a few at once, those waits
overlap. Spark schedules jobs from several threads of one session (classic or
Connect), and Delta commits to different tables do not conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Jobs at once: enough to overlap the driver's waits, few enough that the cores stay the limit.
JOBS = 4


def each(fn: Callable[[T], R], items: Iterable[T], jobs: int | None = None) -> list[R]:
    """``fn(item)`` for every item, up to ``jobs`` (default ``JOBS``) at once; the results in the items' order.

    Every call runs to its end, whatever the others do; then the first failure
    in the items' order is raised, so an error names the same table on every
    run and no job is left running behind it.
    """
    items, jobs = list(items), JOBS if jobs is None else jobs
    if jobs <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(jobs, len(items)), thread_name_prefix="gnp-spark") as pool:
        futures = [pool.submit(fn, item) for item in items]
    for future in futures:  # all done: the pool's exit waited for them
        if future.exception() is not None:
            raise future.exception()
    return [future.result() for future in futures]
