"""Delta Lake through the run's Spark Connect server, with the jars make install copied (no network at run time)."""

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from gnp.lake import lakehouse
from gnp.lake import spark as gnp_spark

from lake.tables import S1 as D1
from lake.tables import S2 as D2
from lake.tables import SMALL as T



def test_every_spark_jvm_gets_the_pinned_jars_and_deltas_settings_never_packages():
    conf = gnp_spark.lakehouse_conf()
    jars = conf["spark.jars"].split(",")
    names = sorted(j.rsplit("/", 1)[-1] for j in jars)
    assert any(n.startswith("delta-spark_4.2_2.13-4.4") for n in names), names
    assert any(n.startswith("delta-storage-4.4") for n in names) and any(n.startswith("gcs-connector-") for n in names)
    assert conf["spark.sql.extensions"] == gnp_spark.DELTA_EXTENSION
    assert conf["spark.sql.catalog.spark_catalog"] == gnp_spark.DELTA_CATALOG
    assert not any("packages" in key for key in conf), "spark.jars.packages resolves from the network at run time"


def test_missing_jars_say_to_run_make_install(tmp_path, monkeypatch):
    monkeypatch.setenv(gnp_spark.JARS_ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match="make install"):
        gnp_spark.lakehouse_conf()


def test_the_gcs_connector_talks_to_an_emulator_without_credentials(monkeypatch):
    monkeypatch.setenv(gnp_spark.GCS_EMULATOR_ENV, "http://127.0.0.1:4443")
    conf = gnp_spark.gcs_conf()
    assert conf["spark.hadoop.fs.gs.storage.root.url"] == "http://127.0.0.1:4443/"
    assert conf["spark.hadoop.fs.gs.auth.type"] == "UNAUTHENTICATED"
    assert conf["spark.hadoop.fs.gs.block.size"] == str(64 * 1024 * 1024)  # Hadoop 3.5 says "64m"
    monkeypatch.delenv(gnp_spark.GCS_EMULATOR_ENV)
    assert gnp_spark.gcs_conf()["spark.hadoop.fs.gs.auth.type"] == "APPLICATION_DEFAULT"


CONNECT_CLIENT = """
import datetime as dt, json, sys
sys.path.insert(0, sys.argv[2])
from lake.tables import SMALL as T, S1 as D1, S2 as D2
from gnp.lake import lakehouse, spark as gnp_spark
from gnp.core.config import load_params
from gnp.orchestration.runner import PROJECT_ROOT

params = load_params(PROJECT_ROOT / "params" / "local.yaml")
path = sys.argv[1]
with gnp_spark.connect_server(params, master="local[2]", log_dir=path + "-log") as url:
    spark = gnp_spark.get_session(params, url, run_id="run-connect")
    lakehouse.overwrite(spark.createDataFrame([(1, D1, "a"), (2, D2, "b")], T.ddl()), T, path)
    lakehouse.replace_partitions(spark.createDataFrame([(3, D2, "c")], T.ddl()), T, path, drop=[D2])
    found = sorted((r.thing_id, r.day.isoformat()) for r in lakehouse.read_table(spark, path, T).collect())
    lakehouse.restore(spark, path, 0)
    restored = sorted(r.thing_id for r in lakehouse.read_table(spark, path, T).collect())
    spark.stop()
print(json.dumps({"found": found, "restored": restored}))
"""


@pytest.mark.slow
def test_a_delta_table_is_written_and_read_through_the_connect_server(tmp_path):
    # A process of its own: a Connect client cannot be made where a classic session exists.
    path = str(tmp_path / "things")
    done = subprocess.run([sys.executable, "-c", CONNECT_CLIENT, path, os.path.dirname(os.path.dirname(__file__))],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["found"] == [[1, D1.isoformat()], [3, D2.isoformat()]], result
    assert result["restored"] == [1, 2], result
    assert [(c["version"], c["operation"], c["run_id"]) for c in lakehouse.history(path)] == [
        (2, "RESTORE", "run-connect"), (1, "WRITE", "run-connect"), (0, "WRITE", "run-connect")]
