"""Where the open-data releases are and which one is the latest, for the readers that point to it.

``gnp release`` (``release.write_release``) writes each release as
``<root>/<YYYY-MM>/<version>/`` with ``datapackage.json`` written last, so a
folder holding that descriptor is a complete release; ``<root>`` is the
params' ``<artifacts>/releases`` unless ``--out`` names another. The latest
release is the newest version of the latest month released. The book and the
dashboard say where it is, or how to make one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gnp.core import storage
from gnp.core.registry import Registry, join

RELEASES = "releases"  # under the params' artifacts folder, unless --out says otherwise
DESCRIPTOR = "datapackage.json"
HOW_TO_RELEASE = "`make release` (or `gnp release --month YYYY-MM`) writes one from a whole month of Gold"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Release:
    month: str  # YYYY-MM
    version: str  # the id of the run whose Gold it carries
    location: str  # the release's folder

    @property
    def descriptor(self) -> str:
        return join(self.location, DESCRIPTOR)


def root(registry: Registry) -> str:
    return join(registry.artifacts, RELEASES)


def latest(releases_root: str) -> Release | None:
    """The newest complete release of the latest month under ``releases_root``; None when there is none."""
    if not storage.exists(releases_root):
        return None
    for month in sorted((m for m in storage.listdir(releases_root) if _MONTH.match(m)), reverse=True):
        # versions are run ids, which sort by the run's start
        for version in sorted(storage.listdir(join(releases_root, month)), reverse=True):
            folder = join(releases_root, month, version)
            if storage.exists(join(folder, DESCRIPTOR)):
                return Release(month, version, folder)
    return None


def sentence(release: Release | None) -> str:
    """What a reader is told: where the latest release is, or how to make the first."""
    if release is None:
        return f"No open-data release yet: {HOW_TO_RELEASE}."
    return (f"Open data: the latest release is {release.month} (version {release.version}), a Frictionless data "
            f"package (CSV and Parquet, schemas, licence) at {release.location}.")
