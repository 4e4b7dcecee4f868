"""The one ci-params helper: params/ci.yaml relocated into a test's folder (tests and fixtures import it)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CI_PARAMS = ROOT / "params" / "ci.yaml"
# ci.yaml's options for the driver's JVM (the first JIT tier only, see there), for every JVM the suite starts: the shared
# session, the cloud run's server, a writer process. The suite keeps both cores busy from start to end, and the
# optimising compiler's threads were up to half of a short-lived JVM's CPU here.
_CI_SPARK = yaml.safe_load(CI_PARAMS.read_text())["spark"]
JAVA_OPTIONS: str = _CI_SPARK["java_options"]
SHUFFLE_PARTITIONS: int = _CI_SPARK["shuffle_partitions"]  # the shared session's too (conftest)
# The same two, as a params file's ``spark`` section: for a test's own params whose runs start a Spark server.
CI_SPARK_SECTION = {"java_options": JAVA_OPTIONS, "shuffle_partitions": SHUFFLE_PARTITIONS}
CI_SPARK_YAML = "spark: " + yaml.safe_dump(CI_SPARK_SECTION, default_flow_style=True, width=1000)


def write_ci_params(folder: Path, **changes) -> Path:
    """params/ci.yaml with every location inside ``folder``; ``changes`` update its sections."""
    data = yaml.safe_load(CI_PARAMS.read_text())
    data["storage"] = {"lake": str(folder / "lake"), "artifacts": str(folder / "artifacts")}
    data["warehouse"]["duckdb_path"] = str(folder / "warehouse.duckdb")
    data["privacy"] = {"pseudonym_key_file": str(folder / "secrets" / "pseudonym.key")}
    for section, values in changes.items():
        data.setdefault(section, {}).update(values)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path
