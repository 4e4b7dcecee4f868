"""What the stage notebooks show: sentences, tables and SVG charts of what a stage did.

Owns ``common`` (SVG charts, formatted tables, checks in brief) and one module
per stage notebook: ``ingest``, ``silver``, ``gold``, ``publish``, ``report``.
May import every layer up to and including ``gnp.dashboard`` (its chart style
and SVG rendering); only the notebooks import it.
"""
