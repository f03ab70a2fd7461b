"""Both stages of rules run as the processor runs them, without Kafka: partitioned inputs, batches
cut at random, crashes that lose a batch's state after its outputs went out (so the batch is
replayed and its outputs sent again), and the rows kept the way ClickHouse keeps them (highest
version per key). ``views`` turns the kept rows into the contract views, as the SQL views do.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.domain.contributions import Sequenced
from shared.domain.rows import AccountDayRow, FollowerRow, Row, ThreadRow
from shared.domain.rules import AccountRules, Collector, EventRules
from shared.domain.state import DictStore
from shared.events import Event
from shared.topics import account_key, partition_for, position, routing_key

EPOCH_DAY = date(1970, 1, 1)


@dataclass
class Partition:
    """One partition of a stage's input: a log, the committed state, and a committed offset."""

    log: list[list] = field(default_factory=list)  # records: lists of inputs
    store: DictStore = field(default_factory=DictStore)
    committed: int = 0  # records applied and committed


@dataclass
class Run:
    partitions: int = 3
    records_per_batch: tuple[int, int] = (1, 3)
    crash_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    stage1: list[Partition] = field(default_factory=list)
    stage2: list[Partition] = field(default_factory=list)
    rows: dict[tuple, Row] = field(default_factory=dict)
    crashes: int = 0

    def __post_init__(self) -> None:
        self.stage1 = [Partition() for _ in range(self.partitions)]
        self.stage2 = [Partition() for _ in range(self.partitions)]

    def send(self, events: list[Event], per_record: int = 3) -> None:
        """Append events to stage 1's partitions, a few per record (like ingest packs them)."""
        by_partition: dict[int, list[Event]] = {}
        for event in events:
            by_partition.setdefault(partition_for(routing_key(event), self.partitions), []).append(event)
        for p, group in by_partition.items():
            for start in range(0, len(group), per_record):
                self.stage1[p].log.append(group[start:start + per_record])

    def run(self) -> None:
        """Process everything there is, in randomly interleaved batches, until both stages are idle."""
        while True:
            pending = [(stage, p) for stage, parts in ((1, self.stage1), (2, self.stage2))
                       for p, part in enumerate(parts) if part.committed < len(part.log)]
            if not pending:
                return
            stage, p = self.rng.choice(pending)
            self._batch(stage, p)

    def _batch(self, stage: int, p: int) -> None:
        part = (self.stage1 if stage == 1 else self.stage2)[p]
        count = self.rng.randint(*self.records_per_batch)
        first, last = part.committed, min(len(part.log), part.committed + count)
        inputs = [(position(offset, index), item) for offset in range(first, last)
                  for index, item in enumerate(part.log[offset])]
        state, out = part.store.batch(), Collector(p)
        (EventRules if stage == 1 else AccountRules)(state, out).apply(inputs)
        self._deliver(out)
        if self.rng.random() < self.crash_rate:
            self.crashes += 1  # outputs are out, state and offsets are lost: the batch comes again
            return
        part.store.commit(state)
        part.committed = last

    def _deliver(self, out: Collector) -> None:
        by_partition: dict[int, list[Sequenced]] = {}
        for change in out.changes:
            by_partition.setdefault(partition_for(account_key(change.account), self.partitions), []).append(change)
        for p, group in by_partition.items():
            for start in range(0, len(group), 4):
                self.stage2[p].log.append(group[start:start + 4])
        for row in out.rows:
            key = row_key(row)
            kept = self.rows.get(key)
            if kept is None or row.version > kept.version:
                self.rows[key] = row
            elif row.version == kept.version:
                assert row == kept, f"two different rows with one version: {kept} and {row}"


def row_key(row: Row) -> tuple:
    if isinstance(row, ThreadRow):  # the table's key: (owner or '', root_id)
        return ("thread", row.owner or "", row.root_id)
    if isinstance(row, AccountDayRow):
        return ("day", row.account, row.day)
    return ("follower", row.account, row.follower)


def _rate(numerator, denominator):
    return float(numerator / denominator) if denominator else None


def views(rows: dict[tuple, Row]) -> dict[str, list[dict]]:
    """The contract views over the kept rows (what shared/clickhouse's SQL views compute)."""
    threads, daily, followers = [], [], []
    for row in rows.values():
        if isinstance(row, ThreadRow):
            if row.deleted:  # withdrawn from this owner (FINAL skips it)
                continue
            threads.append({"root_id": row.root_id, "owner": row.owner, "replies": row.replies,
                            "max_depth": row.max_depth, "participants": row.participants,
                            "owner_replies": row.owner_replies, "first_reply_at": row.first_reply_at,
                            "last_reply_at": row.last_reply_at, "h_index": row.h_index, "shares": row.shares,
                            "likes": row.likes})
        elif isinstance(row, AccountDayRow):
            if not row.qualifies:
                continue
            previous = row.followers - row.net_followers
            daily.append({"account": row.account, "day": EPOCH_DAY + timedelta(days=row.day),
                          "followers": row.followers, "follows_gained": row.follows_gained,
                          "unfollows": row.unfollows, "mutuals": row.mutuals,
                          "churn_rate": _rate(row.unfollows, previous),
                          "replies_received": row.replies_received, "unique_repliers": row.unique_repliers,
                          "max_thread_depth": row.max_thread_depth, "clicks": row.clicks,
                          "unique_clickers": row.unique_clickers, "follower_clicks": row.follower_clicks,
                          "clicks_per_follower": _rate(row.clicks, row.followers),
                          "engagement_per_follower": _rate(row.replies_received + row.clicks, row.followers),
                          "posts": row.posts, "shares_received": row.shares_received,
                          "likes_received": row.likes_received, "conversions": row.conversions,
                          "follower_conversions": row.follower_conversions, "revenue": row.revenue,
                          "refunded": row.refunded, "kept_revenue": row.revenue - row.refunded,
                          "value_per_follower": _rate(row.revenue - row.refunded, row.followers)})
        elif isinstance(row, FollowerRow) and row.active:
            followers.append({"account": row.account, "follower": row.follower, "since": row.since,
                              "mutual": row.mutual, "replies": row.replies, "clicks": row.clicks,
                              "last_interaction_at": row.last_interaction_at, "shares": row.shares,
                              "likes": row.likes, "conversions": row.conversions,
                              "kept_revenue": row.kept_revenue})
    return {
        "threads": sorted(threads, key=lambda r: r["root_id"]),
        "account_daily": sorted(daily, key=lambda r: (r["account"], r["day"])),
        "followers": sorted(followers, key=lambda r: (r["account"], r["follower"])),
    }
