"""Serving Gold and Silver to readers: the DuckDB warehouse, BigQuery tables and publish, time travel, releases.

Owns ``warehouse`` (DuckDB views over each table's current files),
``bigquery_tables`` (BigQuery schemas, datasets, the client), ``publish``
(load jobs into a BigQuery staging table, then one transaction per table),
``timetravel`` (history, Gold as a run left it) and ``release`` (a whole month
of Gold as an open-data package; ``release_package`` and ``release_readme``
describe it). May import every layer below it: ``gnp.core``, ``gnp.lake``,
``gnp.source``, ``gnp.bronze``, ``gnp.quality``, ``gnp.silver`` and ``gnp.gold``.
"""
