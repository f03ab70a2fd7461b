"""Named API keys from a keys file, against a running ingest on the real broker: created and
revoked while it runs (no restart), 401 for a revoked key, the environment's keys beside them,
per-key counters in /metrics (the key's name, never its secret), and a broken keys file that
locks nobody out."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from shared.api_keys import KeysFile, hash_secret
from shared.config import Settings
from tests.ingest.helpers import API_KEY, Ingest, event, ingest_settings, running_ingest

pytestmark = pytest.mark.broker


@pytest.fixture
def keys_file(tmp_path: Path) -> KeysFile:
    return KeysFile(tmp_path / "keys.json")


@pytest.fixture
def ingest(kafka_settings: Settings, keys_file: KeysFile) -> Iterator[Ingest]:
    # The keys file does not exist yet when the ingest starts: keys come and go while it runs.
    settings = ingest_settings(kafka_settings, api_keys_file=keys_file.path)
    with running_ingest(settings) as running:
        yield running


def samples(ingest: Ingest, name: str) -> dict[tuple, float]:
    text = ingest.client.get("/metrics").text
    return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


def test_a_key_created_while_the_ingest_runs_works_at_once_and_a_revoked_one_gets_401(ingest, keys_file):
    one = event("post")
    assert ingest.post([one], key="rk_not-yet-created").status_code == 401
    secret = keys_file.create("mobile-app")
    assert ingest.post([one], key=secret).status_code == 202

    keys_file.revoke("mobile-app")
    refused = ingest.post([event("post")], key=secret)
    assert refused.status_code == 401
    assert refused.json() == {"error": "this API key has been revoked"}
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert [e.id for e in ingest.events()] == [one["id"]]  # nothing of the refused request was written

    again = keys_file.create("mobile-app")  # the name is free again; the revoked secret stays revoked
    assert ingest.post([event("post")], key=again).status_code == 202
    assert ingest.post([event("post")], key=secret).status_code == 401


def test_the_environments_keys_work_beside_the_files(kafka_settings, keys_file):
    settings = ingest_settings(kafka_settings, api_keys_file=keys_file.path)
    assert settings.api_keys == [SecretStr(API_KEY)]
    with running_ingest(settings) as ingest:
        from_file = keys_file.create("partner")
        assert ingest.post([event("post")], key=from_file).status_code == 202
        assert ingest.post([event("post")], key=API_KEY).status_code == 202
        # The environment's key is named after its digest in the metrics.
        env_name = "env-" + hash_secret(API_KEY)[:8]
        assert samples(ingest, "richness_ingest_key_events_accepted_total") == {
            (("key", "partner"),): 1.0, (("key", env_name),): 1.0}


def test_per_key_counters_name_the_key_and_never_show_its_secret(ingest, keys_file):
    alice, bob = keys_file.create("alice"), keys_file.create("bob")
    ingest.post([event("post"), event("post"), event("follow", target="sharon")], key=alice)  # 2 ok, 1 bad
    ingest.post([event("follow", target="sharon")], key=alice)                               # 400
    ingest.post([event("click")], key=bob)
    keys_file.revoke("bob")
    ingest.post([event("click")], key=bob)                                                   # 401
    ingest.post([event("click")], key="rk_unknown")                                          # 401, no name

    assert samples(ingest, "richness_ingest_key_requests_total") == {
        (("key", "alice"), ("status", "202")): 1.0, (("key", "alice"), ("status", "400")): 1.0,
        (("key", "bob"), ("status", "202")): 1.0, (("key", "bob"), ("status", "401")): 1.0}
    assert samples(ingest, "richness_ingest_key_events_accepted_total") == {
        (("key", "alice"),): 2.0, (("key", "bob"),): 1.0}
    assert samples(ingest, "richness_ingest_key_events_rejected_total") == {(("key", "alice"),): 2.0}
    assert samples(ingest, "richness_ingest_requests_total")[(("status", "401"),)] == 2.0
    text = ingest.client.get("/metrics").text
    assert alice not in text and bob not in text and hash_secret(alice) not in text


def test_a_broken_keys_file_keeps_the_keys_read_before(ingest, keys_file):
    secret = keys_file.create("steady")
    assert ingest.post([event("post")], key=secret).status_code == 202
    keys_file.path.write_text('{"format": 1, "keys": [')  # a hand edit gone wrong
    assert ingest.post([event("post")], key=secret).status_code == 202
    os.remove(keys_file.path)  # deleting the file removes its keys
    assert ingest.post([event("post")], key=secret).status_code == 401
