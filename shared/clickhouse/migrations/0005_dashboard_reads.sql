-- What the dashboards and alert rules read besides the contract views, so that a read touches
-- rows in proportion to the accounts and days it shows, never to the whole history
-- (docs/design.md, "How dashboards read"). Nothing here counts on insert: every structure below
-- holds rows or maxima, which a replayed or superseded insert cannot change.

-- Clicks by target and time, for the panels that need more than a day's figures (distinct
-- clickers over a range, clicks per few minutes). A projection is part of each part of
-- events_raw, so it holds exactly the rows events_raw holds, with no second write path. It is
-- not deduplicated by itself (a resent event is a second row until parts merge): readers count
-- distinct ids. `rebuild`: merges rebuild it from the deduplicated rows.
ALTER TABLE {db}.events_raw MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE {db}.events_raw ADD PROJECTION IF NOT EXISTS clicks_by_target
    (SELECT type, target, ts, id, actor ORDER BY type, target, ts);
ALTER TABLE {db}.events_raw MATERIALIZE PROJECTION clicks_by_target;

-- Conversations by the time of their last reply: thread_rows_by_owner's projection (0003a).

-- The latest row of each account (any day, qualifying or not): its followers and mutuals now.
-- `ver` orders rows by (day, version): the latest day wins, and on that day the highest version
-- (the row account_days FINAL keeps). ReplacingMergeTree keeps the highest `ver` per account,
-- however often or late a row arrives. Filled on every insert into account_days; the INSERT
-- below fills it once from what is already there (a row seen twice changes nothing). On a
-- cluster, on the shard of the account's days (the INSERT fills each shard from its own).
-- richness: shard by hex(account)
CREATE TABLE IF NOT EXISTS {db}.account_latest
(
    account   String,
    day       Date,
    followers Int64,
    mutuals   Int64,
    ver       UInt128
)
ENGINE = ReplacingMergeTree(ver)
ORDER BY account;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.account_latest_mv TO {db}.account_latest AS
SELECT account, day, followers, mutuals, bitShiftLeft(toUInt128(toUInt16(day)), 64) + version AS ver
FROM {db}.account_days;

INSERT INTO {db}.account_latest
SELECT account, day, followers, mutuals, bitShiftLeft(toUInt128(toUInt16(day)), 64) + version AS ver
FROM {db}.account_days;
