"""Spark and the Delta lakehouse: sessions, table reads and commits, the lake lock, shared column helpers.

Owns ``spark`` (sessions and the run's Spark Connect server), ``lakehouse``
(Delta tables: read, replace partitions, restore, vacuum, history),
``lakelock`` (one writer per lake) and ``columns`` (the spec select and exact
quantiles that Silver and Gold share). May import ``gnp.core`` only.
"""
