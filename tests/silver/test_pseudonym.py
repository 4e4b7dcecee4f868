import hashlib
import hmac
import os
import stat

import pytest
from gnp.config import ParamsError, PrivacyParams, StorageParams, WarehouseParams
from gnp.silver import measurements as M
from gnp.silver import pseudonym
from silver.bronze_factories import lake_params

ENV = "GNP_TEST_PSEUDONYM_KEY"
KEY_TEXT = "f" * 64


def _params(tmp_path, **sections):
    privacy = PrivacyParams(pseudonym_key_env=ENV, pseudonym_key_file=str(tmp_path / "secrets" / "pseudonym.key"))
    return lake_params(tmp_path, privacy=privacy, **sections)


@pytest.fixture(autouse=True)
def _no_key_in_env(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def test_the_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, f"  {KEY_TEXT}\n")
    assert pseudonym.load_key(_params(tmp_path)) == KEY_TEXT.encode()
    assert not (tmp_path / "secrets").exists(), "no key file is created when the environment has the key"


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
