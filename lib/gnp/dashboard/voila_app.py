"""Voila with a door: ``python -m gnp.dashboard.voila_app NOTEBOOK [voila options]``.

Voila's own page handler, preceded by an admission (``CappedKernelManager.admit_within``):
a visitor beyond the kernel cap waits at most ``busy_wait_s`` for a kernel, then gets
an HTTP 503 page that says the dashboard is busy and when to retry (``Retry-After``,
and a refresh that retries by itself), instead of a page that never finishes loading.
Everything else is Voila as ``python -m voila`` runs it; ``gnp.dashboard.serve``
starts this module in its place.
"""

from __future__ import annotations

import html

import tornado.web
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

from gnp.dashboard.kernels import OWN, CappedKernelManager

BUSY_STATUS = 503
BUSY_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{retry}">
<title>Greek Net Pulse: busy, retry in {retry} s</title>
<style>
  body {{ font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; max-width: 40em; margin: 4em auto;
         padding: 0 1em; color: #222; line-height: 1.5; }}
  p.detail {{ color: #666; }}
</style>
</head>
<body>
<h1>The dashboard is busy</h1>
<p class="busy">All {cap} of its places are taken right now. Please retry in {retry} s:
this page tries again by itself.</p>
<p class="detail">Each visitor gets a live session of their own; one is freed when a visitor closes the page
or leaves it idle.</p>
</body>
</html>
"""


def busy_page(cap: int, retry_s: int) -> str:
    return BUSY_PAGE.format(cap=html.escape(str(cap)), retry=int(retry_s))


class AdmittingVoilaHandler(TornadoVoilaHandler):
    """Voila's notebook page, served only once the visitor has a kernel to come (or the busy page)."""

    _admission: str | None = None

    def should_use_rendered_notebook(self, *args, **kwargs) -> bool:
        # Voila asks this when it picks the pool or a kernel of the visitor's own: follow the admission.
        return self._admission != OWN and super().should_use_rendered_notebook(*args, **kwargs)

    def _would_use_pool(self, notebook: str) -> bool:
        """What Voila's handler would choose now for this request (the same inputs as get_generator's)."""
        manager = self.kernel_manager
        try:
            data, size = manager.notebook_data.get(notebook, {}), manager.get_pool_size(notebook)
        except AttributeError:
            return False
        return super().should_use_rendered_notebook(data, size, self.get_argument("template", None),
                                                    self.get_argument("theme", None), self.request.arguments)

    @tornado.web.authenticated
    async def get(self, path=None):
        # The page frees its kernel when the visitor leaves: its script posts voila/api/shutdown/<kernel> on
        # beforeunload with the _xsrf cookie, which Voila's page never set, so every such post was refused
        # (403) and a left page held its kernel until culled. Reading xsrf_token sets the cookie.
        self.xsrf_token  # noqa: B018
        manager = self.kernel_manager
        if not isinstance(manager, CappedKernelManager) or (self.notebook_path and path):
            return await super().get(path)  # no cap to enforce, or Voila's redirect to a file
        notebook = self.notebook_path or path
        self._admission = await manager.admit_within(notebook, lambda: self._would_use_pool(notebook),
                                                     manager.busy_wait_s)
        if self._admission is None:
            return self.write_busy(manager.max_kernels, manager.busy_retry_s)
        try:
            return await super().get(path)
        finally:
            if self._admission == OWN:
                manager.release_reservation()  # a no-op once the visitor's kernel has started

    def write_busy(self, cap: int, retry_s: int) -> None:
        self.set_status(BUSY_STATUS)
        self.set_header("Retry-After", str(int(retry_s)))
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache, no-store, must-revalidate")
        self.finish(busy_page(cap, retry_s))


class DashboardVoila(Voila):
    """Voila whose notebook page goes through ``AdmittingVoilaHandler``."""

    def init_handlers(self) -> list:
        return [(spec[0], AdmittingVoilaHandler, *spec[2:]) if spec[1] is TornadoVoilaHandler else spec
                for spec in super().init_handlers()]


main = DashboardVoila.launch_instance

if __name__ == "__main__":
    main()
