"""Config: every value checked once, with a one-line error that names the key."""

import pytest

from tap_pendo.config import load_config
from tap_pendo.errors import ConfigError

BASE = {"x_pendo_integration_key": "secret-key", "start_date": "2026-01-01T00:00:00Z"}


def config(**overrides):
    return load_config({**BASE, **overrides})


def test_defaults_are_documented_values():
    c = config()
    assert c.period == "dayRange"
    assert c.base_url == "https://app.pendo.io"
    assert c.app_ids == ()
    assert c.include_anonymous_visitors is False
    assert c.request_timeout == 300
    assert c.start_ms == 1767225600000


@pytest.mark.parametrize(
    "region,url",
    [
        ("us", "https://app.pendo.io"),
        ("us1", "https://us1.app.pendo.io"),
        ("eu", "https://app.eu.pendo.io"),
        ("jpn", "https://app.jpn.pendo.io"),
        ("au", "https://app.au.pendo.io"),
        ("EU", "https://app.eu.pendo.io"),
    ],
)
def test_regions_map_to_their_hosts(region, url):
    assert config(region=region).base_url == url


def test_key_ending_in_eu_means_eu_when_no_region_is_given():
    assert config(x_pendo_integration_key="abc.eu").base_url == "https://app.eu.pendo.io"
    assert config(x_pendo_integration_key="abc.eu", region="us").base_url == "https://app.pendo.io"


def test_api_url_overrides_region():
    assert config(api_url="http://127.0.0.1:9/", region="eu").base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "value,expected", [("day", "dayRange"), ("hour", "hourRange"), ("hourRange", "hourRange")]
)
def test_period_accepts_short_names(value, expected):
    assert config(period=value).period == expected


@pytest.mark.parametrize(
    "value,expected",
    [("1, 2,-323232", (1, 2, -323232)), ([5, "6"], (5, 6)), ("", ()), (7, (7,)), ([], ())],
)
def test_app_ids_forms(value, expected):
    assert config(app_ids=value).app_ids == expected


@pytest.mark.parametrize("value,expected", [("true", True), ("FALSE", False), (True, True)])
def test_boolean_strings(value, expected):
    assert config(include_anonymous_visitors=value).include_anonymous_visitors is expected


@pytest.mark.parametrize(
    "overrides,names",
    [
        ({"x_pendo_integration_key": None}, "x_pendo_integration_key"),
        ({"start_date": None}, "start_date"),
        ({"start_date": "2026-02-30T00:00:00Z"}, "start_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": 20260101}, "start_date"),
        ({"period": "week"}, "period"),
        ({"region": "mars"}, "region"),
        ({"app_ids": "12,abc"}, "app_ids"),
        ({"app_ids": [1.5]}, "app_ids"),
        ({"app_ids": {"a": 1}}, "app_ids"),
        ({"lookback_window": -1}, "lookback_window"),
        ({"record_limit": 0}, "record_limit"),
        ({"request_timeout": "soon"}, "request_timeout"),
        ({"include_anonymous_visitors": "yes"}, "include_anonymous_visitors"),
        ({"end_date": "2025-01-01T00:00:00Z"}, "end_date"),
        ({"api_url": "ftp//x"}, "api_url"),
    ],
)
def test_bad_values_name_the_key_in_one_line(overrides, names):
    with pytest.raises(ConfigError) as error:
        config(**overrides)
    message = str(error.value)
    assert names in message and "\n" not in message
    assert "secret-key" not in message


def test_the_key_is_not_in_the_repr():
    assert "secret-key" not in repr(config())


def test_a_data_sync_config_needs_no_integration_key():
    c = load_config({"datasync_url": "s3://acme/pendo", "start_date": "2026-01-01T00:00:00Z"})
    assert c.integration_key is None and c.datasync_url == "s3://acme/pendo"


def test_a_config_without_key_and_without_datasync_url_names_both():
    with pytest.raises(ConfigError) as error:
        load_config({"start_date": "2026-01-01T00:00:00Z"})
    assert "x_pendo_integration_key" in str(error.value) and "datasync_url" in str(error.value)


def test_storage_options_must_be_an_object_and_their_long_texts_are_secrets():
    with pytest.raises(ConfigError, match="datasync_storage_options"):
        config(datasync_url="s3://a/b", datasync_storage_options="key=abc")
    options = {"key": "AKIAEXAMPLE", "secret": "s3cr3t-value", "client_kwargs": {"region": "eu"}}
    c = config(datasync_url="s3://a/b", datasync_storage_options=options)
    assert c.secrets == {
        "AKIAEXAMPLE": "<storage option>",
        "s3cr3t-value": "<storage option>",
        "secret-key": "<integration key>",
    }
    assert "AKIA" not in repr(c)
