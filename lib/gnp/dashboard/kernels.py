"""Voila's kernels for the public dashboard: a cap on how many run at once.

Every visitor's page runs in a kernel of its own (~150-250 MB each), so the
number of kernels is the service's memory. Voila pre-heats a pool of kernels
and jupyter_server culls idle ones (both set on the command line by
``gnp.dashboard.serve``); neither caps the total, which this manager does: a
visitor beyond ``max_kernels`` waits for a slot (a culled or closed page
frees one) instead of the service running out of memory. Voila wraps this
class in its pooling ``VoilaKernelManager``, so the pool's kernels count too.

Culling a kernel just taken from the pool: its last activity is when it ran
the notebook, maybe hours before, and the culler could strike between the
visitor taking it and the page connecting. Voila never offers a pool kernel to
the culler, so a kernel is culled only once it has also been out of the pool
for the idle timeout.
"""

from __future__ import annotations

import asyncio
import time

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float, Integer

CLASS_PATH = f"{__name__}.CappedKernelManager"


class CappedKernelManager(AsyncMappingKernelManager):
    max_kernels = Integer(0, config=True, help="Kernels running at most (pool included); 0: no cap.")
    slot_poll_s = Float(0.25, config=True, help="How often a waiting start looks for a free slot.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting = 0  # kernels being started: not yet listed, but holding a slot
        self._cullable_since: dict[str, float] = {}  # first time the culler saw the kernel (out of the pool)

    def kernels_held(self) -> int:
        return len(self.list_kernel_ids()) + self._starting

    async def start_kernel(self, *args, **kwargs):
        if self.max_kernels > 0 and self.kernels_held() >= self.max_kernels:
            self.log.warning("all %d dashboard kernels are in use: a visitor waits for one to be freed",
                             self.max_kernels)
            while self.kernels_held() >= self.max_kernels:
                await asyncio.sleep(self.slot_poll_s)
        self._starting += 1  # no await since the check: no other start can take the same slot
        try:
            return await super().start_kernel(*args, **kwargs)
        finally:
            self._starting -= 1

    async def cull_kernel_if_idle(self, kernel_id: str):
        since = self._cullable_since.setdefault(kernel_id, time.monotonic())
        if time.monotonic() - since < self.cull_idle_timeout:
            return None
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id: str, *args, **kwargs):
        self._cullable_since.pop(kernel_id, None)
        return await super().shutdown_kernel(kernel_id, *args, **kwargs)
