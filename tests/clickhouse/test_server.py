"""The embedded ClickHouse server: real SQL over HTTP, users, durability."""
import pytest

from shared.clickhouse.client import connect
from tests.conftest import settings_for

pytestmark = pytest.mark.clickhouse


def test_version_and_users(clickhouse):
    settings = settings_for(clickhouse=clickhouse)
    admin = connect(settings)
    assert admin.query("SELECT version()").result_rows[0][0].startswith("26.9")
    admin.command("CREATE DATABASE IF NOT EXISTS richness")
    admin.command("CREATE TABLE IF NOT EXISTS richness.users_probe (x UInt8) ENGINE = MergeTree ORDER BY x")
    reader = connect(settings, reader=True)
    assert reader.query("SELECT count() FROM richness.users_probe").result_rows == [(0,)]
    with pytest.raises(Exception, match="readonly|READONLY|Not enough privileges"):
        reader.command("INSERT INTO richness.users_probe VALUES (1)")


def test_default_user_cannot_touch_data(clickhouse):
    import httpx

    response = httpx.post(clickhouse.url, content=b"CREATE DATABASE intruder")
    assert (response.status_code, "(ACCESS_DENIED)" in response.text) == (403, True), response.text
    response = httpx.post(clickhouse.url, content=b"SELECT count() FROM system.numbers LIMIT 1",
                          auth=("nobody", "x"))
    assert (response.status_code, "(AUTHENTICATION_FAILED)" in response.text) == (403, True), response.text
