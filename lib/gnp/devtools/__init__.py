"""Developer tools, outside the runtime path: the sample source, benchmarks, the SQL reference, a local cluster.

Owns ``sample`` (the seeded record generator) and ``fake_api`` (a local
data.gov.gr serving it: the ``sample`` source kind), ``bench``,
``bench_goals``, ``bench_report``, ``bench_probe`` and ``bench_reference`` (``gnp bench``),
``reference_sql`` (Silver and Gold recomputed in DuckDB SQL), ``cluster``
(a local Spark cluster) and ``dashboard_bench`` / ``dashboard_probe`` (the
served dashboard timed in headless Chromium). May import every other package;
no runtime module imports it (``gnp.cli`` reaches it inside its dev commands only).
"""
