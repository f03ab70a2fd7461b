"""``richness keys create / list / revoke`` as a user runs them: the secret is printed once (alone
on stdout), never listed or stored; errors are clear and exit 1."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.api_keys import hash_secret

RICHNESS = str(Path(sys.executable).with_name("richness"))


def richness(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RICHNESS_")}
    return subprocess.run([RICHNESS, "keys", *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)


def test_create_list_revoke(tmp_path):
    created = richness("create", "ci", "--rate-limit", "5", "--keys-file", "keys.json", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("rk_") and "\n" not in secret  # KEY=$(richness keys create ci) works
    assert "shown only now" in created.stderr
    assert secret not in (tmp_path / "keys.json").read_text()
    assert hash_secret(secret) in (tmp_path / "keys.json").read_text()

    listed = richness("list", "--keys-file", "keys.json", cwd=tmp_path)
    assert listed.returncode == 0 and "ci" in listed.stdout and "active" in listed.stdout
    assert "5 requests/s" in listed.stdout and secret[:7] in listed.stdout and secret not in listed.stdout

    assert richness("revoke", "ci", "--keys-file", "keys.json", cwd=tmp_path).returncode == 0
    assert "revoked" in richness("list", "--keys-file", "keys.json", cwd=tmp_path).stdout


def test_the_local_stacks_file_is_the_default(tmp_path):
    created = richness("create", "ci", "--data-dir", "stack", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "stack" / "keys.json").exists()
    assert '"name": "ci"' in richness("list", "--json", "--data-dir", "stack", cwd=tmp_path).stdout


def test_mistakes_are_clear_errors(tmp_path):
    assert richness("create", "ci", "--keys-file", "k.json", cwd=tmp_path).returncode == 0
    for args, message in [(("create", "ci"), "an active key named 'ci' exists already"),
                          (("create", "two words"), "invalid key name"),
                          (("revoke", "nobody"), "no active key named 'nobody'")]:
        result = richness(*args, "--keys-file", "k.json", cwd=tmp_path)
        assert result.returncode == 1 and message in result.stderr, result.stderr
