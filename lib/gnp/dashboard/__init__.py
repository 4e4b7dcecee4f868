"""The Voila dashboard: Gold queries, Altair charts, the ipywidgets app and a static report.

Reads Gold only, through ``gnp.serving`` (DuckDB or BigQuery). May import every
layer below it, from ``gnp.core`` up to ``gnp.serving``.
"""

import sys

# Every visitor's kernel imports Altair, whose jsonschema imports rfc3987_syntax when it is installed: that
# compiles a grammar at import, 1.5 of the 3 CPU seconds the dashboard's imports took. It checks only the
# "iri" string formats, which no Vega-Lite spec uses; marked absent here, jsonschema skips them.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
