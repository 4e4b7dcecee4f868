"""An independent recomputation of Silver and Gold in DuckDB SQL, and a comparison with Spark's tables.

It is written from the documentation (the record in ``gnp.source.contract``, the
README's semantics) and the table contracts (schemas.py), not by translating the Spark
code: two engines and two formulations that agree are evidence that both are
right. The benchmark uses it as the DuckDB reference implementation.

Owns: ``rules`` (the Hyperion record and the Silver rules, each citing its
source), ``relations`` (where Silver is, DuckDB types), ``silver`` (Silver from
Bronze), ``gold`` and ``periods`` (Gold from Silver), ``compare``.
May import from gnp only ``gnp.core.schemas`` (the table contracts), ``gnp.core.config``
(the params) and itself: a constant borrowed from the Spark side would agree
with Spark whether right or wrong (``tests/devtools/test_reference_sql_independent.py``).

Order::

    con = duckdb.connect()
    register_silver(con, {"measurements": [...files...], "sessions": [...]})
    # or: silver.build_silver(con, bronze_files, key, params.semantics)
    expected = reference_gold(con, params.semantics)          # name -> pandas
    differences = compare_table(spark_pdf, expected[name], TABLES[name])
"""

from gnp.devtools.reference_sql.compare import compare_table, compare_tables
from gnp.devtools.reference_sql.gold import GOLD_SQL, gold_sql, reference_gold
from gnp.devtools.reference_sql.relations import SilverRelations, register_silver

__all__ = [
    "GOLD_SQL",
    "SilverRelations",
    "compare_table",
    "compare_tables",
    "gold_sql",
    "reference_gold",
    "register_silver",
]
