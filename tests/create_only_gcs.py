"""A proxy in front of fake-gcs-server that gives chosen buckets Cloud Storage's create-only rights.

The pipeline's service account may create and read objects in the artifacts
bucket but not delete them (roles/storage.objectCreator + objectViewer), and
replacing an object needs ``storage.objects.delete``: real GCS answers 403.
fake-gcs-server allows everything, so this proxy, which every client reaches
through ``STORAGE_EMULATOR_HOST``, answers 403 as GCS would to any upload
whose object already exists (unless it asks ``ifGenerationMatch=0``, which
cannot replace: fake-gcs-server answers 412), to any copy or rewrite onto one,
and to any delete, in the protected buckets; other buckets allow everything.
Every refusal is kept, so a test can also report one that a client swallowed.

It is tests/rights_proxy.py with hand-written rights; the cloud end-to-end
test gives each step the rights Terraform grants its identity instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rights_proxy import Gate, rights_gcs_proxy
from terraform_rights import ROLE_PERMISSIONS, Rights

CREATE_ONLY = ROLE_PERMISSIONS["roles/storage.objectCreator"] | ROLE_PERMISSIONS["roles/storage.objectViewer"]
EVERYTHING = ROLE_PERMISSIONS["roles/storage.admin"]
CreateOnly = Gate  # .endpoint: what clients use as STORAGE_EMULATOR_HOST; .refused: "METHOD gs://bucket/name"


@contextlib.contextmanager
def create_only_proxy(upstream: str, buckets: set[str]) -> Iterator[Gate]:
    """Serve a proxy to the fake-gcs-server at ``upstream`` in which ``buckets`` are create-only."""
    rights = Rights("pipeline", {bucket: CREATE_ONLY for bucket in buckets}, other_buckets=EVERYTHING)
    with rights_gcs_proxy(upstream, rights) as gate:
        yield gate
