"""Voila's kernels for the public dashboard: a cap on how many run at once.

Every visitor's page runs in a kernel of its own (~150-250 MB each), so the
number of kernels is the service's memory. Voila pre-heats a pool of kernels
and jupyter_server culls idle ones (both set on the command line by
``gnp.dashboard.serve``); neither caps the total, which this manager does: a
visitor beyond ``max_kernels`` waits for a slot (a culled or closed page
frees one) instead of the service running out of memory. Voila wraps this
class in its pooling ``VoilaKernelManager``, so the pool's kernels count too.
"""

from __future__ import annotations

import asyncio

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float, Integer

CLASS_PATH = f"{__name__}.CappedKernelManager"


class CappedKernelManager(AsyncMappingKernelManager):
    max_kernels = Integer(0, config=True, help="Kernels running at most (pool included); 0: no cap.")
    slot_poll_s = Float(0.25, config=True, help="How often a waiting start looks for a free slot.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting = 0  # kernels being started: not yet listed, but holding a slot

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
