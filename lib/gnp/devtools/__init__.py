"""Developer tools, outside the runtime path: benchmarks, the SQL reference, a local cluster.

Owns ``bench``, ``bench_goals``, ``bench_report``, ``bench_probe`` and
``bench_reference`` (``gnp bench``), ``reference_sql`` (Silver and Gold
recomputed in DuckDB SQL), ``cluster`` (a local Spark cluster) and
``dashboard_bench`` / ``dashboard_probe`` (the served dashboard timed in
headless Chromium). The sample source is not here: local runs fetch from it,
so it is ``gnp.source.sample``. May import every other package; no runtime
module and no notebook imports it (``gnp.cli`` reaches it inside its dev
commands only).
"""
