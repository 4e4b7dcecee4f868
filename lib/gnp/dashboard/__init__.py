"""The Voila dashboard: Gold queries, Altair charts, the ipywidgets app and a static report.

Reads Gold only, through ``gnp.serving`` (DuckDB or BigQuery). May import every
layer below it, from ``gnp.core`` up to ``gnp.serving``.
"""
