import datetime as dt
import hashlib
import hmac
import json
import os
import stat

import pytest

from gnp.core import context
from gnp.core.config import ParamsError, PrivacyParams, StorageParams, WarehouseParams
from gnp.core.registry import Registry
from gnp.core.schemas import MEASUREMENTS, SILVER_TABLES
from gnp.lake import lakehouse
from gnp.orchestration import runplan
from gnp.quality import checks as quality
from gnp.silver import measurements as M
from gnp.silver import pseudonym
from gnp.silver import steps as silver_steps
from silver.bronze_factories import lake_params, record, write_day

ENV = "GNP_TEST_PSEUDONYM_KEY"
KEY_TEXT = "f" * 64


def _params(tmp_path, **sections):
    privacy = PrivacyParams(pseudonym_key_env=ENV, pseudonym_key_file=str(tmp_path / "secrets" / "pseudonym.key"))
    return lake_params(tmp_path, privacy=privacy, **sections)


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, KEY_TEXT)
    assert pseudonym.load_key(_params(tmp_path)) == KEY_TEXT.encode()
    assert not (tmp_path / "secrets").exists(), "no key file is created when the environment has the key"


@pytest.mark.parametrize("value", [f"{KEY_TEXT}\n", f"  {KEY_TEXT}", f"{KEY_TEXT[:40]} {KEY_TEXT[40:]}", "\n\t "])
def test_a_key_with_whitespace_or_control_characters_is_refused_without_showing_it(tmp_path, monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    with pytest.raises(ParamsError) as err:
        pseudonym.load_key(_params(tmp_path))
    assert ENV in str(err.value) and "strip" in str(err.value) and KEY_TEXT[:32] not in str(err.value)
    assert not (tmp_path / "secrets").exists()


def test_a_key_file_may_end_with_one_newline_but_holds_no_other_whitespace(tmp_path):
    key_file = tmp_path / "secrets" / "pseudonym.key"
    key_file.parent.mkdir()
    key_file.write_text(KEY_TEXT + "\r\n")
    assert pseudonym.load_key(_params(tmp_path)) == KEY_TEXT.encode()
    key_file.write_text(KEY_TEXT + "\n\n")
    with pytest.raises(ParamsError, match="whitespace or control"):
        pseudonym.load_key(_params(tmp_path))


def test_the_embedded_default_creates_a_private_key_file_once(tmp_path):
    params = _params(tmp_path)
    first = pseudonym.load_key(params)
    key_file = tmp_path / "secrets" / "pseudonym.key"
    mode = stat.S_IMODE(os.stat(key_file).st_mode)
    assert mode == 0o600, f"expected mode 0600, found {oct(mode)}"
    assert len(first) == 2 * pseudonym.KEY_BYTES and int(first, 16) >= 0, "expected 32 random bytes as hex"
    assert pseudonym.load_key(params) == first, "expected the same key on the second run"


@pytest.mark.parametrize("cloud", [
    {"warehouse": WarehouseParams(kind="bigquery", project="p")},
    {"storage": StorageParams(lake="gs://bucket/lake")},
])  # fmt: skip
def test_outside_the_embedded_default_a_missing_key_is_an_error_naming_what_to_set(tmp_path, cloud):
    with pytest.raises(ParamsError, match=ENV):
        pseudonym.load_key(_params(tmp_path).model_copy(update=cloud))
    assert not (tmp_path / "secrets").exists()


def test_a_short_key_is_refused_without_showing_it(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "short-secret")
    with pytest.raises(ParamsError) as err:
        pseudonym.load_key(_params(tmp_path))
    assert "short-secret" not in str(err.value) and ENV in str(err.value)


def test_the_key_reaches_spark_as_data_not_as_a_plan_literal(spark, capsys):
    key = KEY_TEXT.encode()
    df = spark.createDataFrame([("80.191.12",)], f"{M.API_PREFIX}client_ip string")
    with_user = M.with_user_id(df, pseudonym.key_frame(spark, key))
    with_user.explain(extended=True)
    plans = capsys.readouterr().out
    assert KEY_TEXT not in plans and key.hex() not in plans.lower(), "the key shows in the query plan"
    assert with_user.first().user_id == hmac.new(key, b"80.191.12", hashlib.sha256).hexdigest()
    assert with_user.columns == [f"{M.API_PREFIX}client_ip", "user_id"]


# Silver's key fingerprint (real files in a tmp lake; Silver tables committed by the real lakehouse) -----


def write_silver(spark, registry: Registry, key: bytes) -> dict[str, str]:
    """Commit every Silver table (one row: Delta makes no commit for an empty overwrite of an empty table),
    recording ``key``'s fingerprint as a Silver run does; returns their versions."""
    values = {"bigint": 1, "int": 1, "double": 1.0, "string": "x", "boolean": True, "date": dt.date(2025, 1, 1),
              "timestamp": dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc), "array<string>": ["x"]}
    for spec in SILVER_TABLES:
        row = tuple(values[c.type] for c in spec.columns)
        lakehouse.overwrite(spark.createDataFrame([row], spec.ddl()), spec, registry.table_path(spec.name),
                            metadata=pseudonym.commit_metadata(key))
    return pseudonym.silver_writes(registry)


def stored(registry: Registry) -> dict:
    return json.loads(open(registry.pseudonym_fingerprint).read())


def test_the_fingerprint_is_an_hmac_of_a_label_never_the_key_nor_its_plain_hash(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, KEY_TEXT)
    params = _params(tmp_path)
    registry = Registry.from_params(params)
    assert pseudonym.load_checked_key(params, registry, full_refresh=False) == KEY_TEXT.encode()
    text = open(registry.pseudonym_fingerprint).read()
    assert registry.pseudonym_fingerprint.startswith(registry.lake + "/silver/")
    assert stored(registry)["fingerprint"] == hmac.new(KEY_TEXT.encode(), pseudonym.FINGERPRINT_LABEL,
                                                       hashlib.sha256).hexdigest()  # fmt: skip
    for leak in (KEY_TEXT, hashlib.sha256(KEY_TEXT.encode()).hexdigest(), KEY_TEXT.encode().hex()):
        assert leak not in text


def test_another_key_is_refused_once_silver_exists_naming_the_full_refresh(tmp_path, monkeypatch, spark):
    monkeypatch.setenv(ENV, KEY_TEXT)
    params = _params(tmp_path)
    registry = Registry.from_params(params)
    pseudonym.load_checked_key(params, registry, full_refresh=False)
    write_silver(spark, registry, KEY_TEXT.encode())
    assert pseudonym.load_checked_key(params, registry, full_refresh=False) == KEY_TEXT.encode()

    monkeypatch.setenv(ENV, "e" * 64)
    with pytest.raises(ParamsError) as err:
        pseudonym.load_checked_key(params, registry, full_refresh=False)
    message = str(err.value)
    assert "not the one Silver was written with" in message and "gnp run --full-refresh" in message, message
    assert "e" * 32 not in message and KEY_TEXT[:32] not in message


def test_a_rotation_becomes_the_fingerprint_only_once_silver_was_rewritten(tmp_path, monkeypatch, spark):
    monkeypatch.setenv(ENV, KEY_TEXT)
    params = _params(tmp_path)
    registry = Registry.from_params(params)
    pseudonym.load_checked_key(params, registry, full_refresh=False)
    write_silver(spark, registry, KEY_TEXT.encode())
    old = stored(registry)["fingerprint"]

    monkeypatch.setenv(ENV, "e" * 64)
    new = pseudonym.fingerprint(b"e" * 64)
    assert pseudonym.load_checked_key(params, registry, full_refresh=True) == b"e" * 64
    assert stored(registry)["fingerprint"] == old and stored(registry)["rotation"]["fingerprint"] == new
    # The full refresh fails before Silver is rewritten: no run but a full refresh may go on, whatever its key.
    for key in ("e" * 64, KEY_TEXT):
        monkeypatch.setenv(ENV, key)
        with pytest.raises(ParamsError, match="did not leave all of Silver written with the new key.*--full-refresh"):
            pseudonym.load_checked_key(params, registry, full_refresh=False)

    monkeypatch.setenv(ENV, "e" * 64)
    pseudonym.load_checked_key(params, registry, full_refresh=True)
    write_silver(spark, registry, b"e" * 64)  # the full refresh rewrote every Silver table
    assert pseudonym.load_checked_key(params, registry, full_refresh=False) == b"e" * 64
    assert stored(registry)["fingerprint"] == new and stored(registry)["rotation"] is None
    monkeypatch.setenv(ENV, KEY_TEXT)
    with pytest.raises(ParamsError, match="not the one Silver was written with"):
        pseudonym.load_checked_key(params, registry, full_refresh=False)


def test_a_missing_key_file_is_not_recreated_once_silver_exists(tmp_path, spark):
    params = _params(tmp_path)
    registry = Registry.from_params(params)
    first = pseudonym.load_checked_key(params, registry, full_refresh=False)  # creates the key file
    write_silver(spark, registry, first)
    key_file = tmp_path / "secrets" / "pseudonym.key"
    key_file.unlink()
    with pytest.raises(ParamsError) as err:
        pseudonym.load_checked_key(params, registry, full_refresh=False)
    assert "is missing" in str(err.value) and "gnp run --full-refresh" in str(err.value)
    assert not key_file.exists(), "a new key file was created"
    # A full refresh is the deliberate way: a new key, recorded as a pending rotation.
    second = pseudonym.load_checked_key(params, registry, full_refresh=True)
    assert key_file.exists() and second != first
    assert stored(registry)["rotation"]["fingerprint"] == pseudonym.fingerprint(second)


def test_without_silver_a_key_is_recorded_at_load_and_may_change(tmp_path, monkeypatch):
    params = _params(tmp_path)
    registry = Registry.from_params(params)
    monkeypatch.setenv(ENV, KEY_TEXT)
    pseudonym.load_checked_key(params, registry, full_refresh=False)
    monkeypatch.setenv(ENV, "e" * 64)  # nothing was written with the first key: nothing to mix
    pseudonym.load_checked_key(params, registry, full_refresh=False)
    assert stored(registry)["fingerprint"] == pseudonym.fingerprint(b"e" * 64)


# A rotation is confirmed from what Silver holds (the real Silver steps on the shared session) -----------

NEW_KEY = "a" * 64
DAY = dt.date(2025, 10, 26)


def _silver(spark, params, full_refresh: bool, steps=silver_steps.WRITES):
    ctx = context.of_params(params, full_refresh=full_refresh)
    return silver_steps.run(ctx, spark, runplan.for_context(ctx).silver, steps)


def _user_ids(spark, registry: Registry) -> set[str]:
    table = lakehouse.read_table(spark, registry.table_path(MEASUREMENTS.name), MEASUREMENTS)
    return {row.user_id for row in table.select("user_id").collect()}


def test_a_key_rotation_whose_full_refresh_was_restored_refuses_the_next_incremental_run(tmp_path, monkeypatch, spark):
    params = _params(tmp_path)
    params = params.model_copy(update={"dates": params.dates.model_copy(update={"date_from": DAY, "date_to": DAY})})
    registry = Registry.from_params(params)
    write_day(registry, DAY, [record(1, f"{DAY} 10:00:00", ip="10.0.0.1"), record(2, f"{DAY} 11:00:00", ip=None)])
    monkeypatch.setenv(ENV, KEY_TEXT)
    pseudonym.load_checked_key(params, registry, full_refresh=False)
    write_silver(spark, registry, KEY_TEXT.encode())  # Silver as an earlier run with the old key left it
    old_ids = _user_ids(spark, registry)

    # A full refresh with a new key writes every Silver table, then a critical check fails: all restored.
    monkeypatch.setenv(ENV, NEW_KEY)
    rotation = _silver(spark, params, full_refresh=True)
    failed = quality.result(rotation.run, "silver", "measurements.injected", quality.CRITICAL, False, "1 row", "0 rows")
    rotation.checks = [failed]
    with pytest.raises(quality.QualityError, match="restored"):
        rotation.keep_or_restore()
    assert _user_ids(spark, registry) == old_ids, "expected the restore to bring back the old key's user ids"

    # Every Silver table has a new version now (the RESTORE), but holds the old key's data: no confirmation.
    with pytest.raises(ParamsError) as err:
        _silver(spark, params, full_refresh=False, steps=("flag",))
    message = str(err.value)
    assert "did not leave all of Silver written with the new key" in message, message
    assert "gnp run --full-refresh" in message and NEW_KEY[:32] not in message, message
    assert _user_ids(spark, registry) == old_ids, "an incremental run added user ids of the new key"
