-- Stored facts. Every table is a ReplacingMergeTree keyed by the identity of what it stores, so
-- at-least-once delivery (retries, replays after a crash) can insert a row many times and it
-- still counts once: readers use FINAL. Nothing here counts on insert.

CREATE DATABASE IF NOT EXISTS {db};

-- Every distinct event (by id), as validated by the ingest API. A resent event keeps the
-- received_at of its first arrival: the highest first_seen wins.
CREATE TABLE IF NOT EXISTS {db}.events_raw
(
    id          String,
    type        LowCardinality(String),
    ts          DateTime64(3, 'UTC'),
    actor       Nullable(String),
    target      Nullable(String),
    post_id     Nullable(String),
    parent_id   Nullable(String),
    root_id     Nullable(String),
    url         Nullable(String),
    received_at DateTime64(3, 'UTC'),
    first_seen  UInt64 MATERIALIZED 18446744073709551615 - toUInt64(toUnixTimestamp64Milli(received_at))
)
ENGINE = ReplacingMergeTree(first_seen)
PARTITION BY toYYYYMM(ts)
ORDER BY id;

-- Posts and clicks again, sorted for the queries that read them (conversation owners, traffic
-- per account). Filled from events_raw by the materialized views below; the same dedup key.
CREATE TABLE IF NOT EXISTS {db}.posts
(
    post_id String,
    id      String,
    actor   String,
    ts      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (post_id, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.posts_mv TO {db}.posts AS
SELECT assumeNotNull(post_id) AS post_id, id, assumeNotNull(actor) AS actor, ts
FROM {db}.events_raw WHERE type = 'post';

CREATE TABLE IF NOT EXISTS {db}.clicks
(
    target  String,
    ts      DateTime64(3, 'UTC'),
    id      String,
    actor   Nullable(String),
    post_id Nullable(String),
    url     Nullable(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (target, ts, id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.clicks_mv TO {db}.clicks AS
SELECT assumeNotNull(target) AS target, ts, id, actor, post_id, url
FROM {db}.events_raw WHERE type = 'click';

-- From the processor: each reply placed in its conversation tree. depth is NULL while the
-- reply's parent chain does not reach the root; a later version fills it in.
CREATE TABLE IF NOT EXISTS {db}.reply_facts
(
    root_id  String,
    event_id String,
    post_id  String,
    actor    String,
    ts       DateTime64(3, 'UTC'),
    depth    Nullable(UInt32),
    version  UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (root_id, event_id);

-- From the processor: each follow/unfollow with its effect on the directed edge and on the
-- pair's mutual status, in (ts, id) order. A late event changes later rows: new versions.
CREATE TABLE IF NOT EXISTS {db}.edge_events
(
    account      String,
    follower     String,
    ts           DateTime64(3, 'UTC'),
    event_id     String,
    delta        Int8,   -- +1 edge became active, -1 became inactive, 0 no transition
    active_at_ts Bool,   -- edge state after every event of this edge at this ts (for ASOF joins)
    mutual_delta Int8,   -- change of the pair's mutual status caused by this event
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (account, follower, event_id);

-- From the processor: the current state of each directed edge follower -> account.
CREATE TABLE IF NOT EXISTS {db}.edge_state
(
    account  String,
    follower String,
    active   Bool,
    since    Nullable(DateTime64(3, 'UTC')),
    version  UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (account, follower);
