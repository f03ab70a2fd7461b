-- Conversations stored under their owner, so that on a cluster every row of one account's
-- conversations is on the account's shard (thread_rows, 0003, was keyed by root_id alone: its
-- rows could not follow their owner, who is NULL until the root post arrives).
--
-- The key is (owner_key, root_id), owner_key being the owner, or '' while it is unknown. When a
-- conversation's owner changes, the processor sends, with the row under the new owner, a
-- `deleted` row under the previous one with the same version and figures
-- (shared/domain/conversation.py): FINAL skips a key whose latest row is deleted, and a withdrawn
-- key's rows never come back at a higher version unless the owner does.
-- richness: shard by hex(owner_key)
CREATE TABLE IF NOT EXISTS {db}.thread_rows_by_owner
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
    version        UInt64,
    deleted        UInt8,
    owner_key      String MATERIALIZED ifNull(owner, '')
)
ENGINE = ReplacingMergeTree(version, deleted)
ORDER BY (owner_key, root_id);

-- Conversations by the time of their last reply. A conversation's last reply only moves later
-- as replies arrive (the set of replies only grows), each new version of a key's row is a later
-- state, and a withdrawal carries the figures of the moment it was sent: so among the rows with
-- last_reply_at >= T, the one with the highest version of each key is its current row whenever
-- the current row is in that range, and no row of a key whose current row is earlier is there.
-- Readers take the highest version per key over that range, then drop withdrawn keys.
ALTER TABLE {db}.thread_rows_by_owner MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE {db}.thread_rows_by_owner ADD PROJECTION IF NOT EXISTS by_last_reply
    (SELECT root_id, owner, replies, max_depth, participants, owner_replies, first_reply_at, last_reply_at,
            h_index, shares, likes, version, deleted, owner_key
     ORDER BY last_reply_at);
ALTER TABLE {db}.thread_rows_by_owner MATERIALIZE PROJECTION by_last_reply;

-- The conversations already stored: each one's current row (nothing to withdraw: FINAL kept
-- one row per conversation), under its owner. On a cluster each node sends its own rows to
-- their owners' shards.
INSERT INTO {db}.thread_rows_by_owner
SELECT root_id, owner, replies, max_depth, participants, owner_replies, first_reply_at, last_reply_at,
       h_index, shares, likes, version, 0
FROM {db}.thread_rows FINAL;

-- thread_rows is dropped by 0003b, a file of its own: a run stopped after this one's INSERT runs
-- the whole file again (the rows sent twice are the same rows, which ReplacingMergeTree keeps
-- once), and must still find thread_rows to read.
