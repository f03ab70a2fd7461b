-- richness: rerun (every statement is CREATE OR REPLACE; views always match this file)
-- Helper views for the dashboards and alert rules (and analysts): each reads only the rows of
-- the accounts and the time it is asked about (0005 and docs/design.md, "How dashboards read").
-- Not part of the contract (§4): names and columns may change with the dashboards.
-- Two take parameters: SELECT … FROM richness.followers_at(day = toDate(now())).

-- Every account's followers and mutuals at the end of `day`: its latest row up to that day.
-- For an account whose latest row is no later (every account, when the day is today) that is
-- its row in account_latest; only the accounts that changed after `day` are looked up among
-- their rows up to it. argMax over (day, version) picks what FINAL would keep, without FINAL.
-- On a cluster each shard makes that set from its own account_latest ({local}: account_latest
-- and account_days are sharded alike), so a read of one account asks only its shard.
CREATE OR REPLACE VIEW {db}.followers_at AS
SELECT account, toUInt64(followers) AS followers, toUInt64(mutuals) AS mutuals
FROM (
    SELECT account, followers, mutuals
    FROM {db}.account_latest FINAL
    WHERE day <= {day:Date}
    UNION ALL
    SELECT account, argMax(followers, (day, version)), argMax(mutuals, (day, version))
    FROM {db}.account_days
    WHERE day <= {day:Date}
      AND account IN (SELECT account FROM {db}.account_latest{local} FINAL WHERE day > {day:Date})
    GROUP BY account
);

-- The conversations (the columns of `threads`, and owner_key: the owner or '') whose last reply
-- is in [since, until]: the current row (highest version) of each (owner_key, root_id) among the
-- rows whose last reply is at or after `since` (thread_rows_by_owner's projection by_last_reply
-- reads just those), unless withdrawn, see 0003a. A filter on owner_key (the dashboards':
-- `hex(owner_key) IN (…) AND owner_key IN (…)`) reaches the table: the owner's shard, by key.
CREATE OR REPLACE VIEW {db}.threads_between AS
SELECT root_id, owner, replies, max_depth, participants, owner_replies, first_reply_at, last_reply_at,
       h_index, shares, likes, owner_key
FROM (
    SELECT root_id, owner, replies, max_depth, participants, owner_replies, first_reply_at, last_reply_at,
           h_index, shares, likes, version, deleted, owner_key
    FROM {db}.thread_rows_by_owner
    WHERE last_reply_at >= {since:DateTime64(3, 'UTC')}
    ORDER BY version DESC
    LIMIT 1 BY owner_key, root_id
)
WHERE NOT deleted AND last_reply_at <= {until:DateTime64(3, 'UTC')};

-- Clicks (events_raw's projection clicks_by_target): one row per stored copy of a click, so a
-- click resent before its parts merged may be there twice; count distinct ids.
CREATE OR REPLACE VIEW {db}.click_events AS
SELECT id, ts, actor, target
FROM {db}.events_raw
WHERE type = 'click';

-- The follower ledger as the dashboards read it: the interface a maintained write side can take
-- over (docs/design.md, "How dashboards read": what the processor would maintain). Today both
-- views read the ledger (`followers`): exact, and as many rows as the selected accounts have
-- followers.
--
-- audience: each account's followers now and how many of them never replied to nor clicked it.
CREATE OR REPLACE VIEW {db}.audience AS
SELECT account, count() AS followers, countIf(replies = 0 AND clicks = 0) AS silent_followers
FROM {db}.followers
GROUP BY account;

-- follower_list(list = '…'): at least the first 15 followers of each account in the list's
-- order (today: all of them), so that the first 15 over any set of accounts are among them.
-- The lists (filter; order, ties by follower, account):
--   most_valuable      every follower; replies + clicks, most first
--   silent             replies = 0 AND clicks = 0; since, oldest first
--   not_following_back NOT mutual; replies + clicks, most first, then since
--   kept_revenue       every follower; kept_revenue, most first, then conversions
--   interactions       every follower; replies + clicks + shares + likes, most first, then kept_revenue
-- The list is a parameter, not a column: a constant condition lets ClickHouse skip the other
-- branches instead of reading the ledger once per list.
CREATE OR REPLACE VIEW {db}.follower_list AS
SELECT * FROM {db}.followers WHERE {list:String} IN ('most_valuable', 'kept_revenue', 'interactions')
UNION ALL
SELECT * FROM {db}.followers WHERE {list:String} = 'silent' AND replies = 0 AND clicks = 0
UNION ALL
SELECT * FROM {db}.followers WHERE {list:String} = 'not_following_back' AND NOT mutual;
