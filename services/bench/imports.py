"""``richness bench --imports``: how fast ``richness import`` sends each format through the ingest
API, next to how fast it only reads and maps the same file (its own floor: the difference is the
API). Files are generated in each platform's documented format — realistic shapes, threads a few
levels deep, follows and likes — one format at a time in a temporary folder, then deleted.

Runs on a private broker and ingest service (the local stack is not touched); one client sends,
as ``richness import`` does, in batches of 5,000 events.
"""
from __future__ import annotations

import asyncio
import json
import random
import secrets
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from services.bench.workload import encode_json, iter_events
from services.importers.engine import import_file
from services.importers.sources import ImportOptions
from services.stack import components
from services.stack.processes import free_port, spawn, stop, wait_healthy
from shared.config import Settings
from shared.events import now_ms
from shared.kafka.admin import ensure_topics

FORMATS = ("contract", "reddit", "hackernews", "bluesky", "mastodon", "x-archive")
Report = Callable[[str], None]


def run_imports(lines: int = 10**6, formats: tuple[str, ...] = FORMATS, report: Report = print) -> dict:
    """Figures per format: events/s through the API and events/s mapping only."""
    workdir = Path(tempfile.mkdtemp(prefix="richness-import-bench-"))
    api_key = secrets.token_urlsafe(16)
    broker_port, ingest_port = free_port(), free_port()
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{broker_port}", kafka_compat="tansu", partitions=2,
                        api_keys=api_key)
    processes = []
    figures: dict = {"lines": lines}
    try:
        broker = components.broker(broker_port)
        processes.append(spawn(broker, workdir / "logs"))
        wait_healthy(broker, processes[-1])
        asyncio.run(ensure_topics(settings))
        ingest = components.ingest(settings.to_env(), ingest_port)
        processes.append(spawn(ingest, workdir / "logs"))
        wait_healthy(ingest, processes[-1])
        for name in formats:
            figures[name] = measure(name, lines, workdir, f"http://127.0.0.1:{ingest_port}", api_key, report)
    finally:
        for running in reversed(processes):
            stop(running)
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def measure(name: str, lines: int, workdir: Path, ingest_url: str, api_key: str, report: Report) -> dict:
    folder = workdir / name
    folder.mkdir()
    path = write_sample(name, folder, lines)
    size_mb = round(path.stat().st_size / 1e6, 1)
    try:
        started = time.perf_counter()
        with open(folder / "mapped.ndjson", "wb") as out:
            mapped = import_file(path, ingest_url, api_key, format=name, output=out,
                                 options=ImportOptions(state_dir=folder / "state-map"))
        map_seconds = time.perf_counter() - started
        started = time.perf_counter()  # the send starts with no thread index either: it is timed too
        sent = import_file(path, ingest_url, api_key, format=name, options=ImportOptions(state_dir=folder / "state"))
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(folder)
    result = {"file_mb": size_mb, "events": sent.sent, "accepted": sent.accepted, "rejected": sent.rejected,
              "seconds": round(seconds, 2), "events_per_s": round(sent.sent / seconds),
              "map_only_events_per_s": round(mapped.sent / map_seconds)}
    report(f"import {name}: {sent.sent:,} events in {seconds:.1f} s = {result['events_per_s']:,} events/s "
           f"through the API · {result['map_only_events_per_s']:,} events/s reading and mapping only")
    return result


# --- sample files in each platform's format -------------------------------------------------------

def write_sample(name: str, folder: Path, lines: int, seed: int = 11) -> Path:
    writer = {"contract": _contract, "reddit": _reddit, "hackernews": _hackernews, "bluesky": _bluesky,
              "mastodon": _mastodon, "x-archive": _x_archive}[name]
    return writer(folder, lines, random.Random(seed))


class _Threads:
    """Posts and replies a few levels deep over a population of accounts, times in the last days."""

    def __init__(self, rng: random.Random, lines: int) -> None:
        self.rng = rng
        self.accounts = max(100, int(lines ** 0.75))
        self.start_s = now_ms() // 1000 - 7 * 86_400
        self.step_s = 6 * 86_400 / max(lines, 1)
        self.recent: list[tuple[int, int]] = []  # (post number, its root) of recent posts and replies

    def account(self) -> int:
        return min(int(self.rng.paretovariate(1.2)) - 1, self.accounts - 1)

    def time_s(self, i: int) -> int:
        return int(self.start_s + i * self.step_s)

    def next(self, i: int) -> tuple[int, int | None, int | None]:
        """(post number, parent or None, root or None) for line ``i``: one post in ten is new."""
        if not self.recent or self.rng.random() < 0.1:
            self.recent.append((i, i))
            self.recent = self.recent[-200:]
            return i, None, None
        parent, root = self.recent[-1 - min(int(self.rng.expovariate(0.3)), len(self.recent) - 1)]
        self.recent.append((i, root))
        self.recent = self.recent[-200:]
        return i, parent, root


def _write_lines(path: Path, rows: Iterator[dict]) -> Path:
    with open(path, "wb") as out:
        for row in rows:
            out.write(encode_json(row) + b"\n")  # money as JSON numbers
    return path


def _contract(folder: Path, lines: int, rng: random.Random) -> Path:
    return _write_lines(folder / "events.ndjson", iter_events(lines, seed=rng.randrange(1000)))


def _reddit(folder: Path, lines: int, rng: random.Random) -> Path:
    threads = _Threads(rng, lines)

    def rows() -> Iterator[dict]:
        for i in range(lines):
            own, parent, root = threads.next(i)
            common = {"id": f"{own:x}", "author": f"user{threads.account()}", "created_utc": threads.time_s(i),
                      "subreddit": "richness", "score": rng.randrange(50)}
            if parent is None:
                yield {**common, "title": "a submission", "url": f"https://example.org/{own}", "num_comments": 3}
            else:
                yield {**common, "link_id": f"t3_{root:x}",
                       "parent_id": f"t3_{parent:x}" if parent == root else f"t1_{parent:x}",
                       "body": "a comment of some length, as people write them " * 2}
    return _write_lines(folder / "RC_sample.ndjson", rows())


def _hackernews(folder: Path, lines: int, rng: random.Random) -> Path:
    threads = _Threads(rng, lines)

    def rows() -> Iterator[dict]:
        for i in range(lines):
            own, parent, _ = threads.next(i)
            common = {"id": own + 1, "by": f"user{threads.account()}", "time": threads.time_s(i)}
            if parent is None:
                yield {**common, "type": "story", "title": "a story", "url": f"https://example.org/{own}",
                       "score": rng.randrange(300), "descendants": 3}
            else:
                yield {**common, "type": "comment", "parent": parent + 1, "text": "a comment " * 10}
    return _write_lines(folder / "items.ndjson", rows())


def _bluesky(folder: Path, lines: int, rng: random.Random) -> Path:
    threads = _Threads(rng, lines)
    follows: list[tuple[str, str]] = []

    def did(n: int) -> str:
        return f"did:plc:{n:024d}"

    def rows() -> Iterator[dict]:
        for i in range(lines):
            author, time_us = did(threads.account()), threads.time_s(i) * 1_000_000 + i % 1_000_000
            created = datetime.fromtimestamp(time_us / 1e6 - 0.2, timezone.utc).isoformat().replace("+00:00", "Z")
            roll = rng.random()
            if roll < 0.6:
                own, parent, root = threads.next(i)
                record = {"$type": "app.bsky.feed.post", "createdAt": created, "text": "a post " * 8, "langs": ["en"]}
                if parent is not None:
                    record["reply"] = {"root": {"uri": f"at://{did(0)}/app.bsky.feed.post/p{root}", "cid": "bafy"},
                                       "parent": {"uri": f"at://{did(0)}/app.bsky.feed.post/p{parent}",
                                                  "cid": "bafy"}}
                commit = {"operation": "create", "collection": "app.bsky.feed.post", "rkey": f"p{own}",
                          "record": record}
                author = did(0) if parent is None and own % 3 == 0 else author
            elif roll < 0.75 or not follows:
                subject = did(threads.account())
                if subject == author:  # nobody follows themselves (the API would refuse it)
                    subject = did(threads.accounts)
                follows.append((author, f"f{i}"))
                commit = {"operation": "create", "collection": "app.bsky.graph.follow", "rkey": f"f{i}",
                          "record": {"$type": "app.bsky.graph.follow", "createdAt": created, "subject": subject}}
            elif roll < 0.8:
                author, rkey = follows.pop(rng.randrange(len(follows)))
                commit = {"operation": "delete", "collection": "app.bsky.graph.follow", "rkey": rkey}
            else:
                kind = "like" if roll < 0.95 else "repost"
                commit = {"operation": "create", "collection": f"app.bsky.feed.{kind}", "rkey": f"l{i}",
                          "record": {"$type": f"app.bsky.feed.{kind}", "createdAt": created, "subject": {
                              "uri": f"at://{did(0)}/app.bsky.feed.post/p{max(i - 5, 0)}", "cid": "bafy"}}}
            yield {"did": author, "time_us": time_us, "kind": "commit",
                   "commit": {"rev": f"r{i}", "cid": "bafyreib", **commit}}
    return _write_lines(folder / "jetstream.ndjson", rows())


def _mastodon(folder: Path, lines: int, rng: random.Random) -> Path:
    threads = _Threads(rng, lines)

    def rows() -> Iterator[dict]:
        for i in range(lines):
            own, parent, _ = threads.next(i)
            user = threads.account()
            created = datetime.fromtimestamp(threads.time_s(i), timezone.utc).isoformat().replace("+00:00", ".000Z")
            yield {"id": str(110_000_000_000_000_000 + own), "created_at": created,
                   "in_reply_to_id": None if parent is None else str(110_000_000_000_000_000 + parent),
                   "visibility": "public", "content": "<p>a status of some length</p>", "reblog": None,
                   "account": {"id": str(user), "username": f"user{user}", "acct": f"user{user}@example.social",
                               "url": f"https://example.social/@user{user}"},
                   "media_attachments": [], "mentions": [], "tags": [], "emojis": []}
    return _write_lines(folder / "statuses.ndjson", rows())


def _x_archive(folder: Path, lines: int, rng: random.Random) -> Path:
    threads = _Threads(rng, lines)
    (folder / "account.js").write_text('window.YTD.account.part0 = [{"account": {"accountId": "1001", '
                                       '"username": "owner"}}]\n')
    path = folder / "tweets.js"
    with open(path, "w") as out:
        out.write("window.YTD.tweets.part0 = [\n")
        for i in range(lines):
            own, parent, _ = threads.next(i)
            created = datetime.fromtimestamp(threads.time_s(i), timezone.utc).strftime("%a %b %d %H:%M:%S +0000 %Y")
            tweet = {"retweeted": False, "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
                     "favorite_count": "1", "id_str": str(own + 10**15), "id": str(own + 10**15),
                     "created_at": created, "full_text": "a tweet of some length " * 4, "lang": "en"}
            if parent is not None:
                tweet["in_reply_to_status_id_str"] = str(parent + 10**15)
            out.write(("  ," if i else "  ") + json.dumps({"tweet": tweet}) + "\n")
        out.write("]\n")
    return path
