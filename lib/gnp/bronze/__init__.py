"""Bronze: each fetched day stored exactly as received, append-only, and each day's volume.

Owns ``ingest`` (the day plan, versions, manifests, ``ingest_range``) and
``volume`` (records per day, empty and thin days). May import ``gnp.core``,
``gnp.lake`` and ``gnp.source``.
"""
