"""Finding each reply's conversation root on platforms whose replies name only their parent
(Hacker News, Mastodon, X).

The contract needs ``root_id`` on every reply. The root is found by walking parents inside the
posts this import — and earlier imports of the same platform — have seen: a first pass over the
file records every post's parent, then each reply's root is looked up. A reply whose chain stops
at a post nobody has imported has no known root: it is reported, never given a guessed one, and
importing the missing posts later (then this file again) completes it.

The links live in SQLite on disk, so memory stays flat however large the file, and they persist
across imports, so an overlapping or follow-up file can complete the threads of an earlier one.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable

from services.importers.mapping import Unrooted

_SCHEMA = """
CREATE TABLE IF NOT EXISTS node (id TEXT PRIMARY KEY, parent TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS node_parent ON node (parent);
CREATE TABLE IF NOT EXISTS root (id TEXT PRIMARY KEY, root TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS indexed_file (key TEXT PRIMARY KEY) WITHOUT ROWID;
"""

# Roots of the posts that had none, top-down: from every such post that starts a thread or whose
# parent has a root, down to its children. A root never changes once found (a post keeps its first
# parent), and a post whose parent has no root has none either, so these seeds reach every post
# that now gets one, each once, and nothing else: the work grows with the posts added and the
# threads they complete, not with what earlier imports indexed. Posts in a parent cycle, or below
# a missing post, are never reached. Inserted in id order: SQLite then appends to its B-tree
# instead of writing all over it.
_RESOLVE = """
INSERT INTO root (id, root)
WITH RECURSIVE tree (id, root) AS (
    SELECT node.id, node.id FROM node
    WHERE node.parent IS NULL AND node.id NOT IN (SELECT id FROM root)
    UNION ALL
    SELECT node.id, root.root FROM node JOIN root ON node.parent = root.id
    WHERE node.id NOT IN (SELECT id FROM root)
    UNION ALL
    SELECT node.id, tree.root FROM node JOIN tree ON node.parent = tree.id
)
SELECT id, root FROM tree ORDER BY id
"""

CACHE_KIB = 64 * 1024
MAX_WALK = 100_000  # a guard for reporting only; real threads are far shallower


class ThreadIndex:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A bounded page cache (64 MiB whatever the file size): one root lookup per reply reads
        # the upper levels of the B-trees again and again.
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ThreadIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def has_indexed(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM indexed_file WHERE key = ?", (key,)).fetchone() is not None

    def add(self, links: Iterable[tuple[str, str | None]], key: str | None = None) -> None:
        """Record (post, parent or None for a root) links, then find the root of every post that
        has none yet. A post seen twice keeps its first parent. ``key`` marks a file as indexed."""
        with self._db:
            # Staged in file order, then inserted sorted by id (the first of a post's links kept):
            # random-order inserts into a large B-tree cost about twice as much.
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS staged (id TEXT, parent TEXT)")
            self._db.executemany("INSERT INTO staged (id, parent) VALUES (?, ?)", links)
            self._db.execute("INSERT OR IGNORE INTO node (id, parent) SELECT id, parent FROM staged ORDER BY id, rowid")
            self._db.execute("DELETE FROM staged")
            self._db.execute(_RESOLVE)
            if key is not None:
                self._db.execute("INSERT OR IGNORE INTO indexed_file (key) VALUES (?)", (key,))

    def root_of(self, post_id: str) -> str | Unrooted:
        row = self._db.execute("SELECT root FROM root WHERE id = ?", (post_id,)).fetchone()
        if row is not None:
            return row[0]
        return Unrooted(self._first_missing(post_id))

    def _first_missing(self, post_id: str) -> str | None:
        seen, current = set(), post_id
        for _ in range(MAX_WALK):
            row = self._db.execute("SELECT parent FROM node WHERE id = ?", (current,)).fetchone()
            if row is None:
                return current
            if row[0] is None or current in seen:
                return None  # a root would have been resolved: this is a cycle
            seen.add(current)
            current = row[0]
        return None
