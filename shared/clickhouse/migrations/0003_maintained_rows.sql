-- The figures of the contract views, maintained by the processor ahead of the read (issue:
-- dashboards that stay fast as history grows). Each row is sent whole, with a version: the
-- position in the processor's input of the last input that changed it. The same version always
-- carries the same values and a later version a later state, so ReplacingMergeTree(version) keeps
-- the current row however often, late or out of order a row is delivered. Readers use FINAL.
-- Nothing here counts on insert.

-- Money and the v1.1 identifiers on the events themselves.
ALTER TABLE {db}.events_raw ADD COLUMN IF NOT EXISTS order_id Nullable(String) AFTER url;
ALTER TABLE {db}.events_raw ADD COLUMN IF NOT EXISTS value Nullable(Decimal(18, 4)) AFTER order_id;

-- One row per conversation with at least one reply. Replaced by thread_rows_by_owner (0003a),
-- which moves these rows there (0003b drops this table).
-- richness: shard by root_id
CREATE TABLE IF NOT EXISTS {db}.thread_rows
(
    root_id        String,
    owner          Nullable(String),
    replies        UInt64,
    max_depth      UInt64,
    participants   UInt64,
    owner_replies  UInt64,
    first_reply_at DateTime64(3, 'UTC'),
    last_reply_at  DateTime64(3, 'UTC'),
    h_index        UInt64,
    shares         UInt64,
    likes          UInt64,
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY root_id;

-- One row per (account, day) the account has figures for. `qualifies`: the contract view shows
-- the day (days on which only the account's own follows changed its mutuals do not qualify).
-- Followers and mutuals are the counts at the end of the day; followers - net_followers is the
-- count at the end of the previous day (churn). Signed, so that no transient value can be refused.
-- On a cluster, every day of an account on one shard: a read of one account asks one shard
-- (by hex(account): the dashboards' filter `hex(account) IN ('…')` finds it, see layout.py).
-- richness: shard by hex(account)
CREATE TABLE IF NOT EXISTS {db}.account_days
(
    account              String,
    day                  Date,
    qualifies            Bool,
    followers            Int64,
    follows_gained       UInt64,
    unfollows            UInt64,
    mutuals              Int64,
    net_followers        Int64,
    replies_received     UInt64,
    unique_repliers      UInt64,
    max_thread_depth     UInt64,
    clicks               UInt64,
    unique_clickers      UInt64,
    follower_clicks      UInt64,
    posts                UInt64,
    shares_received      UInt64,
    likes_received       UInt64,
    conversions          UInt64,
    follower_conversions UInt64,
    revenue              Decimal(18, 4),
    refunded             Decimal(18, 4),
    version              UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (account, day);

-- One row per edge follower -> account that has events (the view shows the active ones), with
-- the follower's all-time interactions with the account. On a cluster, on its account's shard.
-- richness: shard by hex(account)
CREATE TABLE IF NOT EXISTS {db}.follower_ledger
(
    account             String,
    follower            String,
    active              Bool,
    since               Nullable(DateTime64(3, 'UTC')),
    mutual              Bool,
    replies             UInt64,
    clicks              UInt64,
    shares              UInt64,
    likes               UInt64,
    conversions         UInt64,
    kept_revenue        Decimal(18, 4),
    last_interaction_at Nullable(DateTime64(3, 'UTC')),
    version             UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (account, follower);

-- What the views computed at query time before: per-event facts and the helper views that joined
-- them. Everything they held is derived from the events, which stay.
DROP VIEW IF EXISTS {db}.click_facts;
DROP VIEW IF EXISTS {db}.conversation_owners;
DROP VIEW IF EXISTS {db}.posts_mv;
DROP VIEW IF EXISTS {db}.clicks_mv;
DROP TABLE IF EXISTS {db}.posts;
DROP TABLE IF EXISTS {db}.clicks;
DROP TABLE IF EXISTS {db}.reply_facts;
DROP TABLE IF EXISTS {db}.edge_events;
DROP TABLE IF EXISTS {db}.edge_state;
