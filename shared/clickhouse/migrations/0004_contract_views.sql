-- richness: rerun (every statement is CREATE OR REPLACE; views always match this file)
-- The contract views (contract §4 and §6) over the rows the processor maintains (0003): a read
-- touches the rows of the accounts and days it asks for, never the history of events. Replaced
-- on every migration run, so changing a view is an edit here.

-- Views must not depend on query settings (join_use_nulls and the like): the read-only user
-- cannot change settings, so a SETTINGS clause would silently not apply for it.

CREATE OR REPLACE VIEW {db}.events AS
SELECT id, type, ts, actor, target, post_id, parent_id, root_id, url, received_at, order_id, value
FROM {db}.events_raw FINAL;

CREATE OR REPLACE VIEW {db}.threads AS
SELECT root_id, owner, replies, max_depth, participants, owner_replies, first_reply_at, last_reply_at,
       h_index, shares, likes
FROM {db}.thread_rows_by_owner FINAL;

CREATE OR REPLACE VIEW {db}.account_daily AS
SELECT
    account,
    day,
    toUInt64(followers)                                                  AS followers,
    follows_gained,
    unfollows,
    toUInt64(mutuals)                                                    AS mutuals,
    if(followers = net_followers, NULL, unfollows / (followers - net_followers)) AS churn_rate,
    replies_received,
    unique_repliers,
    max_thread_depth,
    clicks,
    unique_clickers,
    follower_clicks,
    if(followers = 0, NULL, clicks / followers)                          AS clicks_per_follower,
    if(followers = 0, NULL, (replies_received + clicks) / followers)     AS engagement_per_follower,
    posts,
    shares_received,
    likes_received,
    conversions,
    follower_conversions,
    revenue,
    refunded,
    CAST(revenue - refunded AS Decimal(18, 4))                           AS kept_revenue,
    if(followers = 0, NULL, toFloat64(revenue - refunded) / followers)   AS value_per_follower
FROM {db}.account_days FINAL
WHERE qualifies;

CREATE OR REPLACE VIEW {db}.followers AS
SELECT account, follower, assumeNotNull(since) AS since, mutual, replies, clicks, last_interaction_at,
       shares, likes, conversions, kept_revenue
FROM {db}.follower_ledger FINAL
WHERE active;
