-- richness: rerun (every statement is CREATE OR REPLACE; views always match this file)
-- The four contract views (contract §4). Computed at query time from the deduplicated tables
-- (FINAL), so every figure is a function of the distinct events, never of how often a row was
-- delivered. Replaced on every migration run, so changing a view is a new file or an edit here.

-- Views must not depend on query settings (join_use_nulls and the like): the read-only user
-- cannot change settings, so a SETTINGS clause would silently not apply for it. Outer joins
-- therefore join Nullable columns, whose default for "no match" is NULL.

-- Owner of each conversation: the actor of the `post` whose post_id is the root (the earliest by
-- (ts, id) should a source ever send two).
CREATE OR REPLACE VIEW {db}.conversation_owners AS
SELECT post_id AS root_id, CAST(argMin(actor, (ts, id)) AS Nullable(String)) AS owner
FROM {db}.posts FINAL
GROUP BY post_id;

CREATE OR REPLACE VIEW {db}.events AS
SELECT id, type, ts, actor, target, post_id, parent_id, root_id, url, received_at
FROM {db}.events_raw FINAL;

CREATE OR REPLACE VIEW {db}.threads AS
SELECT
    r.root_id                                                           AS root_id,
    o.owner                                                             AS owner,
    toUInt64(count())                                                   AS replies,
    toUInt64(max(ifNull(r.depth, 0)))                                   AS max_depth,
    toUInt64(uniqExactIf(r.actor, o.owner IS NULL OR r.actor != o.owner)) AS participants,
    toUInt64(countIf(o.owner IS NOT NULL AND r.actor = o.owner))        AS owner_replies,
    min(r.ts)                                                           AS first_reply_at,
    max(r.ts)                                                           AS last_reply_at
FROM {db}.reply_facts AS r FINAL
LEFT JOIN {db}.conversation_owners AS o ON r.root_id = o.root_id
GROUP BY r.root_id, o.owner;

-- Whether each identified click came from a follower at that moment: the edge's state at the
-- latest edge event with ts <= the click's ts (active_at_ts already folds ties on ts).
CREATE OR REPLACE VIEW {db}.click_facts AS
SELECT c.target AS account, c.ts AS ts, c.id AS id, c.actor AS actor, e.active_at_ts AS from_follower
FROM (SELECT target, ts, id, actor, ifNull(actor, '') AS actor_key FROM {db}.clicks FINAL) AS c
ASOF LEFT JOIN (SELECT account, follower, ts, active_at_ts FROM {db}.edge_events FINAL) AS e
    ON c.target = e.account AND c.actor_key = e.follower AND c.ts >= e.ts;

CREATE OR REPLACE VIEW {db}.account_daily AS
WITH
    edges AS (SELECT account, follower, ts, delta, mutual_delta FROM {db}.edge_events FINAL),
    contributions AS (
        -- The followed account: follower and mutual changes; the day qualifies.
        SELECT account, toDate(ts) AS day, 1 AS qualifies, toInt64(delta) AS net_followers,
               toUInt64(delta = 1) AS gained, toUInt64(delta = -1) AS lost, toInt64(mutual_delta) AS net_mutuals,
               0 AS reply, CAST(NULL AS Nullable(String)) AS replier, toUInt64(0) AS depth,
               0 AS click, CAST(NULL AS Nullable(String)) AS clicker, 0 AS follower_click
        FROM edges
        UNION ALL
        -- The following account: its mutuals change too, but its day does not qualify for that.
        SELECT follower, toDate(ts), 0, 0, 0, 0, toInt64(mutual_delta), 0, NULL, 0, 0, NULL, 0
        FROM edges WHERE mutual_delta != 0
        UNION ALL
        -- Replies received by the conversation's owner from others.
        SELECT assumeNotNull(o.owner), toDate(r.ts), 1, 0, 0, 0, 0, 1, r.actor, toUInt64(ifNull(r.depth, 0)), 0, NULL, 0
        FROM {db}.reply_facts AS r FINAL
        INNER JOIN {db}.conversation_owners AS o ON r.root_id = o.root_id
        WHERE r.actor != o.owner
        UNION ALL
        SELECT account, toDate(ts), 1, 0, 0, 0, 0, 0, NULL, 0, 1, actor, toUInt8(from_follower)
        FROM {db}.click_facts
        UNION ALL
        SELECT actor, toDate(ts), 1, 0, 0, 0, 0, 0, NULL, 0, 0, NULL, 0
        FROM {db}.posts FINAL
    ),
    daily AS (
        SELECT account, day,
               max(qualifies)            AS qualifies,
               sum(net_followers)        AS net_followers,
               sum(gained)               AS follows_gained,
               sum(lost)                 AS unfollows,
               sum(net_mutuals)          AS net_mutuals,
               toUInt64(sum(reply))      AS replies_received,
               toUInt64(uniqExact(replier)) AS unique_repliers,
               toUInt64(max(depth))      AS max_thread_depth,
               toUInt64(sum(click))      AS clicks,
               toUInt64(uniqExact(clicker)) AS unique_clickers,
               toUInt64(sum(follower_click)) AS follower_clicks
        FROM contributions
        GROUP BY account, day
    ),
    running AS (
        SELECT *,
               sum(net_followers) OVER w AS followers_eod,
               sum(net_mutuals) OVER w   AS mutuals_eod
        FROM daily
        WINDOW w AS (PARTITION BY account ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    )
SELECT
    account,
    day,
    toUInt64(followers_eod)                                               AS followers,
    toUInt64(follows_gained)                                              AS follows_gained,
    toUInt64(unfollows)                                                   AS unfollows,
    toUInt64(mutuals_eod)                                                 AS mutuals,
    if(followers_eod - net_followers = 0, NULL,
       unfollows / (followers_eod - net_followers))                       AS churn_rate,
    replies_received,
    unique_repliers,
    max_thread_depth,
    clicks,
    unique_clickers,
    follower_clicks,
    if(followers_eod = 0, NULL, clicks / followers_eod)                   AS clicks_per_follower,
    if(followers_eod = 0, NULL, (replies_received + clicks) / followers_eod) AS engagement_per_follower
FROM running
WHERE qualifies = 1;

CREATE OR REPLACE VIEW {db}.followers AS
WITH
    replies AS (
        SELECT assumeNotNull(o.owner) AS account, r.actor AS follower, count() AS replies,
               CAST(max(r.ts) AS Nullable(DateTime64(3, 'UTC'))) AS last_reply
        FROM {db}.reply_facts AS r FINAL
        INNER JOIN {db}.conversation_owners AS o ON r.root_id = o.root_id
        GROUP BY account, follower
    ),
    clicks AS (
        SELECT target AS account, assumeNotNull(actor) AS follower, count() AS clicks,
               CAST(max(ts) AS Nullable(DateTime64(3, 'UTC'))) AS last_click
        FROM {db}.clicks FINAL
        WHERE actor IS NOT NULL
        GROUP BY account, follower
    ),
    active AS (SELECT account, follower, since, CAST(1 AS Nullable(UInt8)) AS present
               FROM {db}.edge_state FINAL WHERE active)
SELECT
    e.account                                  AS account,
    e.follower                                 AS follower,
    assumeNotNull(e.since)                     AS since,
    CAST(back.present IS NOT NULL, 'Bool')     AS mutual,
    toUInt64(ifNull(r.replies, 0))             AS replies,
    toUInt64(ifNull(c.clicks, 0))              AS clicks,
    multiIf(r.last_reply IS NULL, c.last_click,
            c.last_click IS NULL, r.last_reply,
            greatest(r.last_reply, c.last_click)) AS last_interaction_at
FROM active AS e
LEFT JOIN active AS back ON back.account = e.follower AND back.follower = e.account
LEFT JOIN replies AS r ON r.account = e.account AND r.follower = e.follower
LEFT JOIN clicks AS c ON c.account = e.account AND c.follower = e.follower;
