"""Spark and the Delta lakehouse: sessions, table reads and commits, the lake lock.

Owns ``spark`` (sessions and the run's Spark Connect server), ``lakehouse``
(Delta tables: read, replace partitions, restore, vacuum, history) and
``lakelock`` (one writer per lake). May import ``gnp.core`` only. The column
helpers the transforms share are pure, so they are ``gnp.core.columns``: a
transform needs no lake.
"""
