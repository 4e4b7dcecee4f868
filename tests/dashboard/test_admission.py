"""Admission to a dashboard kernel (``CappedKernelManager.admit``), on the real manager with no kernel running:
its pool and slots are set the way Voila leaves them, and visitors are asyncio tasks, as Tornado runs requests.
The served behaviour (busy page, Retry-After, the dashboard once a visitor leaves) is tests/dashboard/test_busy.py.
"""

from __future__ import annotations

import asyncio

from gnp.dashboard.kernels import OWN, POOL, CappedKernelManager
from gnp.dashboard.voila_app import busy_page


def manager(cap: int) -> CappedKernelManager:
    km = CappedKernelManager(max_kernels=cap, slot_poll_s=0.05)
    km._pools = {}  # what Voila's pooling subclass adds
    return km


async def ready(kernel_id: str) -> dict:
    return {"kernel_id": kernel_id}


def test_a_visitor_takes_a_ready_pool_kernel_first_even_behind_a_refill_waiting_for_a_slot():
    async def scenario():
        km = manager(cap=2)
        waiting_refill = asyncio.get_running_loop().create_future()  # a refill that has no slot yet
        heated = asyncio.ensure_future(ready("k1"))
        await heated
        km._pools["nb"] = [waiting_refill, heated]
        choice = km.admit("nb", pooled=True)
        first = km._pools["nb"][0]
        waiting_refill.cancel()
        return choice, first is heated

    choice, heated_first = asyncio.run(scenario())
    assert (choice, heated_first) == (POOL, True), f"expected the heated kernel served first, found {choice}"


def test_a_pool_refill_without_a_slot_is_not_a_kernel_for_a_visitor():
    async def scenario():
        km = manager(cap=1)
        holder = asyncio.ensure_future(asyncio.sleep(0))
        km._reserved.add(holder)  # the only slot: another visitor's
        waiting_refill = asyncio.get_running_loop().create_future()
        km._pools["nb"] = [waiting_refill]
        choice = km.admit("nb", pooled=True)
        waiting_refill.cancel()
        await holder
        return choice

    assert asyncio.run(scenario()) is None, "expected no admission: the pool's entry would wait for a slot"


def test_a_visitor_waits_at_most_the_bound_and_gets_a_slot_freed_meanwhile():
    async def visitor(km: CappedKernelManager, wait_s: float):
        return await km.admit_within("nb", lambda: False, wait_s)

    async def scenario():
        km = manager(cap=1)
        first = asyncio.ensure_future(visitor(km, 1.0))
        assert await first == OWN
        loop = asyncio.get_running_loop()
        started = loop.time()
        refused = await visitor(km, 0.5)
        refused_after = loop.time() - started
        second = asyncio.ensure_future(visitor(km, 5.0))
        await asyncio.sleep(0.2)
        km._reserved.discard(first)  # the first visitor's kernel is gone
        return refused, refused_after, await second, len(km._reserved)

    refused, refused_after, admitted, reserved = asyncio.run(scenario())
    assert refused is None and 0.5 <= refused_after < 1.5, f"expected a refusal after 0.5 s, found {refused_after}"
    assert (admitted, reserved) == (OWN, 1), f"expected the freed slot reserved for the waiter, found {admitted}"


def test_a_pool_refill_lets_a_waiting_visitor_have_the_free_slot():
    async def scenario():
        km = manager(cap=1)
        km.visitors_waiting = 1
        refill = asyncio.ensure_future(km.start_kernel(kernel_name="python3"))
        await asyncio.sleep(0.3)
        held_back = not refill.done()
        refill.cancel()
        return held_back

    assert asyncio.run(scenario()), "expected the refill to wait while a visitor waits"


def test_the_busy_page_says_when_to_retry():
    page = busy_page(cap=3, retry_s=45)
    assert "All 3 of its places are taken" in page and "Please retry in 45 s" in page
    assert '<meta http-equiv="refresh" content="45">' in page and "http" not in page.replace("http-equiv", "")
