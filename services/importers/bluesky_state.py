"""Durable Bluesky state in one SQLite file, shared by ``richness import`` and ``richness
connect bluesky``: the follow records seen (to resolve unfollows, whose delete names only the
record key) and the connector's stream cursors."""
from __future__ import annotations

import sqlite3
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS follow (did TEXT NOT NULL, rkey TEXT NOT NULL, subject TEXT NOT NULL,
                                   PRIMARY KEY (did, rkey)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursor (stream TEXT PRIMARY KEY, time_us INTEGER NOT NULL) WITHOUT ROWID;
"""


class BlueskyState:
    """Implements ``formats.bluesky.FollowMemory``. Follows are written as they are mapped,
    before their events are acknowledged: a replay maps them again to the same values."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)  # autocommit; see commit()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._db.execute("BEGIN")

    def remember(self, did: str, rkey: str, subject: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO follow (did, rkey, subject) VALUES (?, ?, ?)", (did, rkey, subject))

    def recall(self, did: str, rkey: str) -> str | None:
        row = self._db.execute("SELECT subject FROM follow WHERE did = ? AND rkey = ?", (did, rkey)).fetchone()
        return row[0] if row else None

    def cursor(self, stream: str) -> int | None:
        row = self._db.execute("SELECT time_us FROM cursor WHERE stream = ?", (stream,)).fetchone()
        return row[0] if row else None

    def save_cursor(self, stream: str, time_us: int) -> None:
        """Commits the follows remembered so far together with the cursor."""
        self._db.execute("INSERT OR REPLACE INTO cursor (stream, time_us) VALUES (?, ?)", (stream, time_us))
        self.commit()

    def commit(self) -> None:
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")

    def close(self) -> None:
        self.commit()
        self._db.close()
