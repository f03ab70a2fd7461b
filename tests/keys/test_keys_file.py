"""shared.api_keys: the keys file stores names and digests, never secrets; names are checked;
create, revoke and ensure keep one active key per name; writes are atomic and private."""
from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.api_keys import KeyFileError, KeysFile, hash_secret, read_keys


@pytest.fixture
def keys(tmp_path) -> KeysFile:
    return KeysFile(tmp_path / "nested" / "keys.json")


def test_a_created_key_is_stored_as_a_digest_with_a_hint_and_the_file_is_private(keys):
    secret = keys.create("ci", rate_limit=2.5)
    assert secret.startswith("rk_") and len(secret) >= 40
    text = keys.path.read_text()
    assert secret not in text and hash_secret(secret) in text
    [stored] = keys.list()
    assert (stored.name, stored.hint, stored.rate_limit, stored.active) == ("ci", secret[:7], 2.5, True)
    assert stat.S_IMODE(keys.path.stat().st_mode) == 0o600


def test_one_active_key_per_name_and_revoked_names_can_be_reused(keys):
    first = keys.create("ci")
    with pytest.raises(KeyFileError, match="an active key named 'ci' exists already"):
        keys.create("ci")
    revoked = keys.revoke("ci")
    assert revoked.revoked_at is not None
    second = keys.create("ci")
    assert [(k.sha256, k.active) for k in keys.list()] == [(hash_secret(first), False), (hash_secret(second), True)]
    with pytest.raises(KeyFileError, match=r"no active key named 'nope' .*\(active: ci\)"):
        keys.revoke("nope")


@pytest.mark.parametrize("name", ["", "has space", "-leading", "x" * 65, "ünïcode", 'quote"'])
def test_names_that_could_not_be_a_metric_label_are_refused(keys, name):
    with pytest.raises(KeyFileError, match="invalid key name"):
        keys.create(name)
    assert not keys.path.exists()


def test_a_rate_limit_must_be_positive(keys):
    with pytest.raises(KeyFileError, match="rate limit"):
        keys.create("ci", rate_limit=0)


def test_ensure_adds_once_keeps_a_revocation_and_replaces_a_lost_secret(keys):
    keys.ensure("local", "rk_first")
    keys.ensure("local", "rk_first")
    assert [k.name for k in keys.list()] == ["local"]
    keys.revoke("local")
    keys.ensure("local", "rk_first")  # revoked on purpose: stays revoked
    assert [k.active for k in keys.list()] == [False]
    keys.ensure("local", "rk_second")  # a new secret (secrets.json was lost): the new one is active
    assert [(k.sha256, k.active) for k in keys.list()] == [(hash_secret("rk_first"), False),
                                                           (hash_secret("rk_second"), True)]


def test_concurrent_creations_all_land(keys):
    with ThreadPoolExecutor(8) as pool:
        secrets = list(pool.map(lambda i: keys.create(f"k{i}"), range(24)))
    assert sorted(k.sha256 for k in keys.list()) == sorted(hash_secret(s) for s in secrets)


def test_a_missing_file_has_no_keys_and_a_foreign_file_is_a_clear_error(tmp_path):
    assert read_keys(tmp_path / "absent.json") == []
    (tmp_path / "other.json").write_text('["not", "keys"]')
    with pytest.raises(KeyFileError, match="is not a Richness keys file"):
        read_keys(tmp_path / "other.json")
