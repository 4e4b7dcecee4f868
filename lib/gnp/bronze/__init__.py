"""Bronze: each fetched day stored exactly as received, append-only, and each day's volume.

Owns ``ingest`` (the day plan, versions, manifests, ``ingest_range``),
``volume`` (records per day, empty and thin days) and ``index`` (what the
manifests say, kept so a run reads only new ones). May import ``gnp.core``,
``gnp.lake`` and ``gnp.source``.
"""
