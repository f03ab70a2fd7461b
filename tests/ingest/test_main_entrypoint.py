"""``python -m services.ingest``: refuses to run unauthenticated; otherwise creates its topics,
serves, keeps event content and keys out of its log, and stops cleanly on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from services.stack.processes import free_port
from shared.api_keys import KeysFile
from tests.ingest.helpers import API_KEY, event


def _env(**richness: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RICHNESS_")}
    env.update({f"RICHNESS_{k.upper()}": v for k, v in richness.items()})
    return env


@pytest.mark.parametrize("keys", [None, "", " , "], ids=["unset", "empty", "blank"])
def test_refuses_to_start_without_an_api_key(keys):
    env = _env() if keys is None else _env(api_keys=keys)
    result = subprocess.run([sys.executable, "-m", "services.ingest"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "RICHNESS_API_KEYS" in result.stderr and "RICHNESS_API_KEYS_FILE" in result.stderr


@pytest.mark.broker
@pytest.mark.parametrize("keys_from", ["RICHNESS_API_KEYS", "keys file"])
def test_serves_with_topics_created_and_no_event_content_in_its_log(kafka_settings, tmp_path, keys_from):
    port = free_port()
    if keys_from == "keys file":  # a keys file alone is enough (it may also start empty)
        KeysFile(tmp_path / "keys.json").add("tests", API_KEY)
        auth = {"api_keys_file": str(tmp_path / "keys.json")}
    else:
        auth = {"api_keys": f"other-key,{API_KEY}"}
    env = _env(**auth, kafka_bootstrap=kafka_settings.kafka_bootstrap,
               kafka_compat="tansu", events_topic=kafka_settings.events_topic,
               facts_topic=kafka_settings.facts_topic, dead_letter_topic=kafka_settings.dead_letter_topic,
               ingest_port=str(port))
    log_path = tmp_path / "ingest.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "services.ingest"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)

        secret = "actor-with-private-content\n\x1b[31m"
        body = [event("post", actor=secret), event("follow", actor=secret, target=secret)]
        response = httpx.post(f"{url}/v1/events", json=body, headers={"Authorization": f"Bearer {API_KEY}"})
        assert response.json()["accepted"] == 1 and response.json()["rejected"] == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log_text = log_path.read_text()
    assert "actor-with-private-content" not in log_text
    assert API_KEY not in log_text
    assert "POST /v1/events" in log_text  # the access log is on, without bodies
