"""Greek Net Pulse: the helper library behind the notebook book."""

import sys

__version__ = "0.1.0"

# jsonschema imports rfc3987_syntax when it is installed (a Jupyter dependency), and that compiles an IRI grammar
# at import: about a second of CPU in every process that imports Altair (the stage views, the dashboard) or
# nbformat (the runner). It serves only the "iri" string formats, which no schema read here uses (Vega-Lite's,
# nbformat's and Frictionless's check no formats); marked absent, jsonschema skips them.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)
