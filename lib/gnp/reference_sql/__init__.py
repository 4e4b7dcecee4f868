"""An independent recomputation of Gold in DuckDB SQL, and a comparison with Spark's Gold.

It is written from the definitions (hyperion-source.md, schemas.py), straight
from the raw Silver rows, not by translating the Spark code: two engines and
two formulations that agree are evidence that both are right. The benchmark
uses it as the DuckDB reference implementation.

The SQL reads Silver from the relations named in ``SilverRelations``; today
``register_silver`` points them at Silver Parquet, and a Silver-from-Bronze
SQL stage can create the same relations instead (add it as ``silver.py`` here).

Order::

    con = duckdb.connect()
    register_silver(con, {"measurements": [...files...], "sessions": [...]})
    expected = reference_gold(con, params.semantics)          # name -> pandas
    differences = compare_table(spark_pdf, expected[name], TABLES[name])
"""

from gnp.reference_sql.compare import compare_table, compare_tables
from gnp.reference_sql.gold import GOLD_SQL, SilverRelations, gold_sql, reference_gold, register_silver

__all__ = [
    "GOLD_SQL",
    "SilverRelations",
    "compare_table",
    "compare_tables",
    "gold_sql",
    "reference_gold",
    "register_silver",
]
