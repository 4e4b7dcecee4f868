"""Params files: every bad input gives one line naming the file and the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gnp.core.config import ParamsError, api_token, load_params, require_secrets, secret

PARAMS_DIR = Path(__file__).resolve().parents[2] / "params"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(p.name for p in PARAMS_DIR.glob("*.yaml")))
def test_every_shipped_params_file_validates(name):
    params = load_params(PARAMS_DIR / name)
    assert params.dates.date_from <= params.dates.date_to


def test_relative_paths_resolve_against_the_params_file(tmp_path):
    params = load_params(write(tmp_path, "env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-02}\n"))
    assert params.resolve("../lake") == str((tmp_path.parent / "lake").resolve())
    assert params.resolve("gs://bucket/lake") == "gs://bucket/lake"


def test_overrides_use_dotted_keys_and_ignore_empty_values(tmp_path):
    path = write(tmp_path, "env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-09}\n")
    params = load_params(path, {"dates.date_from": "2025-01-05", "dates.date_to": ""})
    assert (params.dates.date_from, params.dates.date_to) == (dt.date(2025, 1, 5), dt.date(2025, 1, 9))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-02}\nsorce: {}\n", "sorce: unknown key"),
        ("env: t\ndates: {date_from: 2025-13-01, date_to: 2025-01-02}\n", "dates.date_from:"),
        ("env: t\ndates: {date_from: 2025-01-05, date_to: 2025-01-02}\n", "is before date_from"),
        ("env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-02}\nsource: {kind: ftp}\n", "source.kind:"),
        ("env: t\n", "dates: Field required"),
        ("env: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_params_name_the_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    assert str(path) in message and expected in message, f"expected {expected!r} and the path in: {message}"
    assert "\n" not in message.strip(), f"expected one line, found: {message}"


API_SOURCE = (
    "env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-02}\nsource: {kind: api, token_env: GNP_TEST_TOKEN%s}\n"
)


def test_the_api_source_needs_no_token_unless_the_params_require_one(tmp_path, monkeypatch):
    monkeypatch.delenv("GNP_TEST_TOKEN", raising=False)
    params = load_params(write(tmp_path, API_SOURCE % ""))
    require_secrets(params)
    assert api_token(params.source) is None
    monkeypatch.setenv("GNP_TEST_TOKEN", "")
    assert api_token(params.source) is None, "an empty variable is no token"
    monkeypatch.setenv("GNP_TEST_TOKEN", "tok-3f9a2b7c")
    assert api_token(params.source) == "tok-3f9a2b7c"


def test_a_required_token_that_is_missing_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("GNP_TEST_TOKEN", raising=False)
    path = write(tmp_path, API_SOURCE % ", token_required: true")
    params = load_params(path)
    with pytest.raises(ParamsError) as error:
        require_secrets(params)
    message = str(error.value)
    assert message.startswith(f"{path}: source.token_env: environment variable GNP_TEST_TOKEN is not set"), message
    assert "source.token_required" in message and "\n" not in message, message
    monkeypatch.setenv("GNP_TEST_TOKEN", "x")
    require_secrets(params)


@pytest.mark.parametrize("name", ["live.yaml", "gcp.yaml"])
def test_the_shipped_api_params_run_without_a_token(name, monkeypatch):
    params = load_params(PARAMS_DIR / name)
    monkeypatch.delenv(params.source.token_env, raising=False)
    monkeypatch.delenv(params.privacy.pseudonym_key_env, raising=False)
    assert params.source.kind == "api" and not params.source.token_required
    require_secrets(params)


@pytest.mark.parametrize("value", ["tok-3f9a2b7c\n", "tok-3f9a2b7c\r\n", "\ttok-3f9a2b7c", "tok 3f9a2b7c", "tok-3f9a2b7c\x1b"])
def test_a_secret_with_whitespace_or_control_characters_is_refused_naming_the_variable(tmp_path, monkeypatch, value):
    path = write(
        tmp_path,
        "env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-02}\nsource: {kind: api, token_env: GNP_TEST_TOKEN}\n"
        "privacy: {pseudonym_key_env: GNP_TEST_KEY}\n",
    )
    params = load_params(path)
    monkeypatch.delenv("GNP_TEST_KEY", raising=False)
    for name in ("GNP_TEST_TOKEN", "GNP_TEST_KEY"):
        monkeypatch.setenv("GNP_TEST_TOKEN", "tok-valid-token")
        monkeypatch.setenv(name, value)
        with pytest.raises(ParamsError) as error:
            require_secrets(params)
        message = str(error.value)
        assert name in message and "strip" in message and "3f9a2b7c" not in message, message
        assert repr(value)[1:-1] not in message
        monkeypatch.delenv("GNP_TEST_KEY", raising=False)
    monkeypatch.setenv("GNP_TEST_TOKEN", value)
    with pytest.raises(ParamsError, match="GNP_TEST_TOKEN.*strip"):
        secret("GNP_TEST_TOKEN", "data.gov.gr API token")
    monkeypatch.setenv("GNP_TEST_TOKEN", "tok-3f9a2b7c")
    require_secrets(params)
    assert secret("GNP_TEST_TOKEN", "data.gov.gr API token") == "tok-3f9a2b7c"


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")


@pytest.mark.parametrize("url", ["https://data.gov.gr/api/v1", "http://127.0.0.1:8765", "http://localhost:9/api",
                                 "http://[::1]:8080", "http://127.0.0.2"])
def test_the_base_url_is_https_or_plain_http_on_loopback(tmp_path, url):
    params = load_params(write(tmp_path, f"env: t\ndates: {{date_from: 2025-01-01, date_to: 2025-01-02}}\n"
                                         f"source: {{kind: api, base_url: '{url}'}}\n"))
    assert params.source.base_url == url


@pytest.mark.parametrize("url", ["http://data.gov.gr/api/v1", "http://10.0.0.5:8765", "http://localhost.example.org",
                                 "ftp://data.gov.gr", "data.gov.gr/api/v1", "https://"])
def test_a_base_url_that_would_send_the_token_in_clear_is_refused(tmp_path, url):
    path = write(tmp_path, f"env: t\ndates: {{date_from: 2025-01-01, date_to: 2025-01-02}}\n"
                           f"source: {{kind: api, base_url: '{url}'}}\n")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    assert "source.base_url" in message and "https://" in message and "in clear" in message, message
    assert "\n" not in message, message
