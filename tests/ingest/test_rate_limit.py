"""A key's optional rate limit: beyond it the ingest answers 429 with Retry-After (before reading
the body, writing nothing), counts it for that key, and other keys are not affected. The token
bucket's arithmetic is checked on its own, with the clock handed in."""
from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from services.ingest.auth import ApiKeys, TokenBucket, Verdict
from shared.api_keys import KeysFile
from tests.ingest.helpers import event, ingest_settings, running_ingest


@pytest.mark.broker
def test_over_its_limit_a_key_gets_429_with_retry_after_and_writes_nothing(kafka_settings, tmp_path):
    keys = KeysFile(tmp_path / "keys.json")
    # One request per 100 s: the first goes through, the next within 100 s cannot.
    slow, free = keys.create("batch-job", rate_limit=0.01), keys.create("dashboard")
    with running_ingest(ingest_settings(kafka_settings, api_keys_file=keys.path)) as ingest:
        first = event("post")
        assert ingest.post([first], key=slow).status_code == 202
        limited = ingest.post([event("post")], key=slow)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 100
        assert "batch-job" in limited.json()["error"] and "rate limit" in limited.json()["error"]
        # Refused before the body is read: even an unusable body gets the 429.
        assert ingest.post(content=b"not json", key=slow).status_code == 429
        assert ingest.post([event("post")], key=free).status_code == 202  # other keys are not limited
        assert ingest.post([event("post")], key=free).status_code == 202

        assert sum(e.id == first["id"] for e in ingest.events()) == 1 and len(ingest.events()) == 3
        metrics = ingest.client.get("/metrics").text
        assert 'richness_ingest_key_requests_total{key="batch-job",status="429"} 2.0' in metrics
        assert 'richness_ingest_requests_total{status="429"} 2.0' in metrics

        # Lifting the limit applies to the running ingest at once (a new key of the same name).
        keys.revoke("batch-job")
        unlimited = keys.create("batch-job")
        assert [ingest.post([event("post")], key=unlimited).status_code for _ in range(3)] == [202] * 3


def test_the_bucket_allows_bursts_of_one_seconds_worth_then_the_rate():
    bucket = TokenBucket(rate=4, now=0.0)
    assert [bucket.take(0.0) for _ in range(5)] == [0, 0, 0, 0, pytest.approx(0.25)]
    assert bucket.take(0.1) == pytest.approx(0.15)  # 0.4 of a token by then
    assert bucket.take(0.25) == 0                    # a whole token: 1 s / 4
    assert bucket.take(10.0) == 0 and bucket.tokens == pytest.approx(3)  # refills to the burst only


def test_a_slow_rate_still_allows_one_request_then_says_how_long_to_wait():
    bucket = TokenBucket(rate=0.5, now=100.0)
    assert bucket.take(100.0) == 0
    assert bucket.take(100.5) == pytest.approx(1.5)  # 0.25 of a token by then: 0.75 more at 0.5/s
    assert bucket.take(102.0) == 0


def test_keys_share_nothing_and_a_changed_limit_applies_to_the_running_bucket(tmp_path: Path):
    keys = KeysFile(tmp_path / "keys.json")
    a, b = keys.create("a", rate_limit=1), keys.create("b", rate_limit=1)
    now = [0.0]
    api_keys = ApiKeys([], keys.path, clock=lambda: now[0])
    verdicts = [api_keys.check(f"Bearer {s}").verdict for s in (a, a, b)]
    assert verdicts == [Verdict.OK, Verdict.LIMITED, Verdict.OK]
    limited = api_keys.check(f"Bearer {a}")
    assert (limited.key, limited.retry_after_s) == ("a", pytest.approx(1.0))

    content = msgspec.json.decode(keys.path.read_bytes())
    content["keys"][0]["rate_limit"] = 10.0  # an operator raises the limit in the file
    keys.path.write_bytes(msgspec.json.encode(content))
    now[0] = 0.1
    assert api_keys.check(f"Bearer {a}").verdict is Verdict.OK  # 0.1 s × 10/s = one token
