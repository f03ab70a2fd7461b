"""``richness keys create / list / revoke``: the ingest API's named keys (``shared.api_keys``).

The keys file is ``--keys-file`` (or ``RICHNESS_API_KEYS_FILE``), else the local stack's
``DIR/keys.json``. A running ingest reads the same file, so changes apply to it at once.
"""
from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from services.stack.supervisor import DEFAULT_DATA_DIR
from shared.api_keys import LOCAL_FILE_NAME, KeyFileError, KeysFile

keys_app = typer.Typer(help="API keys of the ingest API: named, stored hashed, revocable, optionally rate limited.",
                       no_args_is_help=True)
console = Console()
err = Console(stderr=True, soft_wrap=True)

KeysFileOption = typer.Option(None, "--keys-file", envvar="RICHNESS_API_KEYS_FILE",
                              help="The keys file (default: the local stack's DIR/keys.json).")
DataDirOption = typer.Option(DEFAULT_DATA_DIR, "--data-dir", help="The local stack's data directory.")


def _file(keys_file: Path | None, data_dir: Path) -> KeysFile:
    return KeysFile(keys_file if keys_file is not None else data_dir / LOCAL_FILE_NAME)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(1)


@keys_app.command("create")
def create(name: str = typer.Argument(..., help="A name for the key: who uses it (a metric label, never secret)."),
           rate_limit: float = typer.Option(None, "--rate-limit", min=0.001,
                                            help="At most this many requests per second (429 beyond); default none."),
           keys_file: Path = KeysFileOption, data_dir: Path = DataDirOption) -> None:
    """Create a key and print its secret, once: only its hash is stored. The secret alone goes to
    stdout (KEY=$(richness keys create ci) works); the rest to stderr."""
    store = _file(keys_file, data_dir)
    try:
        secret = store.create(name, rate_limit)
    except KeyFileError as exc:
        _fail(str(exc))
    limit = f", at most {rate_limit:g} requests/s" if rate_limit else ""
    err.print(f"created API key [bold]{name}[/]{limit} in {store.path}; its secret, shown only now:", highlight=False)
    print(secret, flush=True)
    err.print("Send it as 'Authorization: Bearer <secret>'. A running ingest using this keys file accepts it now.",
              highlight=False)


@keys_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
          keys_file: Path = KeysFileOption, data_dir: Path = DataDirOption) -> None:
    """Every key of the keys file, revoked ones included (never a secret: only its first characters)."""
    store = _file(keys_file, data_dir)
    try:
        keys = store.list()
    except KeyFileError as exc:
        _fail(str(exc))
    if as_json:
        console.print_json(json.dumps([{"name": k.name, "hint": k.hint, "created_at": k.created_at,
                                        "revoked_at": k.revoked_at, "rate_limit": k.rate_limit} for k in keys]))
        return
    if not keys:
        console.print(f"no keys in {store.path} (create one with `richness keys create NAME`)")
        return
    table = Table("name", "starts with", "created", "state", "rate limit", title=str(store.path))
    for key in keys:
        state = "[green]active[/]" if key.active else f"[red]revoked[/] {key.revoked_at}"
        table.add_row(key.name, key.hint + "…", key.created_at, state,
                      f"{key.rate_limit:g} requests/s" if key.rate_limit else "none")
    console.print(table)


@keys_app.command("revoke")
def revoke(name: str = typer.Argument(..., help="The key's name."),
           keys_file: Path = KeysFileOption, data_dir: Path = DataDirOption) -> None:
    """Revoke a key: a running ingest answers 401 to it from its next request."""
    store = _file(keys_file, data_dir)
    try:
        key = store.revoke(name)
    except KeyFileError as exc:
        _fail(str(exc))
    console.print(f"revoked API key {key.name} ({key.hint}…) in {store.path}", highlight=False)
