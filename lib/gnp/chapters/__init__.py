"""The analysis chapters (notebooks 60-89): what Gold says, in computed sentences and offline charts.

Owns the chapters' Gold queries (``data``), the pure functions that turn query
results into findings and sentences (``regions``, ``providers``,
``frustration``, with shared wording in ``wording``), and their Altair charts
(``figures``). Reads Gold only, through the dashboard's read path
(``gnp.dashboard.source.open_gold``), so the same chapter runs on DuckDB and
BigQuery. May import every layer up to and including ``gnp.dashboard`` (its
source, query helpers and SVG rendering); nothing imports it but the notebooks.
"""
