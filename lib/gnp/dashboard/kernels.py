"""Voila's kernels for the public dashboard: a cap on how many run at once, and a bounded wait for one.

Every visitor's page runs in a kernel of its own (~150-250 MB each), so the
number of kernels is the service's memory. Voila pre-heats a pool of kernels
and jupyter_server culls idle ones (both set on the command line by
``gnp.dashboard.serve``); neither caps the total, which this manager does:
at most ``max_kernels`` run at once, the pool's included (Voila wraps this
class in its pooling ``VoilaKernelManager``, so the pool's starts come through
``start_kernel`` too).

A visitor beyond the cap waits at most ``busy_wait_s`` for a kernel (a closed
or culled page frees one), then gets a "busy, retry in N s" page
(``gnp.dashboard.voila_app``), instead of waiting for as long as the others
stay. ``admit`` is that decision, taken before Voila's handler commits to a
kernel: the visitor either takes a pool kernel that is ready or already
starting (put first in the pool, which Voila serves from the front), or gets a
slot reserved for a kernel of its own. A pool refill never takes a slot that a
waiting visitor could have.

Culling a kernel just taken from the pool: its last activity is when it ran
the notebook, maybe hours before, and the culler could strike between the
visitor taking it and the page connecting. Voila never offers a pool kernel to
the culler, so a kernel is culled only once it has also been out of the pool
for the idle timeout.
"""

from __future__ import annotations

import asyncio
import time
import weakref

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float, Integer

CLASS_PATH = f"{__name__}.CappedKernelManager"
POOL = "pool"  # admit: the visitor takes the pool's first kernel
OWN = "own"  # admit: the visitor starts a kernel of its own, in a slot reserved for it


class CappedKernelManager(AsyncMappingKernelManager):
    max_kernels = Integer(0, config=True, help="Kernels running at most (pool included); 0: no cap.")
    slot_poll_s = Float(0.25, config=True, help="How often a waiting start or visitor looks for a free slot.")
    busy_wait_s = Float(20.0, config=True, help="Longest a visitor waits for a kernel before the busy page.")
    busy_retry_s = Integer(30, config=True, help="Seconds the busy page asks a visitor to wait (Retry-After).")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting = 0  # kernels being started: not yet listed, but holding a slot
        self._reserved: set[asyncio.Task] = set()  # admitted visitors whose own kernel has not started yet
        self._slotted: weakref.WeakSet[asyncio.Task] = weakref.WeakSet()  # tasks whose start got its slot
        self.visitors_waiting = 0  # visitors in admit_within: a pool refill lets them go first
        self._cullable_since: dict[str, float] = {}  # first time the culler saw the kernel (out of the pool)

    def kernels_held(self) -> int:
        return len(self.list_kernel_ids()) + self._starting + len(self._reserved)

    def has_room(self) -> bool:
        return self.max_kernels <= 0 or self.kernels_held() < self.max_kernels

    async def start_kernel(self, *args, **kwargs):
        task = asyncio.current_task()
        if task in self._reserved:
            self._reserved.discard(task)  # the visitor's own slot, taken at admission
        elif not self.has_room() or self.visitors_waiting:
            self.log.info("all %d dashboard kernels are in use: a pool refill waits for a free one", self.max_kernels)
            while not self.has_room() or self.visitors_waiting:
                await asyncio.sleep(self.slot_poll_s)
        self._starting += 1  # no await since the check: no other start can take the same slot
        self._slotted.add(task)
        try:
            return await super().start_kernel(*args, **kwargs)
        finally:
            self._starting -= 1

    def _will_serve(self, item: asyncio.Future) -> bool:
        """A pool entry that gives its visitor a kernel without waiting for a slot: ready, or already starting."""
        if item.done():
            return not item.cancelled() and item.exception() is None
        return item in self._slotted

    def admit(self, notebook: str, pooled: bool) -> str | None:
        """POOL, OWN, or None (no kernel for this visitor now). Synchronous, so nothing runs between it and
        the handler taking what it chose; call it from the visitor's request task (OWN reserves for it)."""
        pool = getattr(self, "_pools", {}).get(notebook, []) if pooled else []
        for i, item in enumerate(pool):
            if self._will_serve(item):
                pool.insert(0, pool.pop(i))
                return POOL
        if self.has_room():
            task = asyncio.current_task()
            if task is not None:
                self._reserved.add(task)
            return OWN
        return None

    async def admit_within(self, notebook: str, pooled, wait_s: float) -> str | None:
        """``admit``, retried until ``wait_s`` has passed; ``pooled()`` says whether Voila would serve from
        the pool at that moment. None: the visitor gets the busy page."""
        deadline = time.monotonic() + wait_s
        choice = self.admit(notebook, pooled())
        if choice is not None:
            return choice
        self.log.warning("all %d dashboard kernels are in use: a visitor waits up to %.0f s for one to be freed",
                         self.max_kernels, wait_s)
        self.visitors_waiting += 1
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(self.slot_poll_s)
                choice = self.admit(notebook, pooled())
                if choice is not None:
                    return choice
        finally:
            self.visitors_waiting -= 1
        self.log.warning("no dashboard kernel was freed within %.0f s: a visitor gets the busy page", wait_s)
        return None

    def release_reservation(self) -> None:
        """The current visitor's unused slot (its request failed before its kernel started) goes back."""
        self._reserved.discard(asyncio.current_task())

    async def cull_kernel_if_idle(self, kernel_id: str):
        since = self._cullable_since.setdefault(kernel_id, time.monotonic())
        if time.monotonic() - since < self.cull_idle_timeout:
            return None
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id: str, *args, **kwargs):
        self._cullable_since.pop(kernel_id, None)
        return await super().shutdown_kernel(kernel_id, *args, **kwargs)
