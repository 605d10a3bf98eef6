-- saveEntity: inserts or replaces one entity hash, applies its TTL in the same step, and (on a
-- standalone server) moves its index entries, all atomically.
-- Called with a variable number of keys (numkeys is passed on each call).
--
-- KEYS[1]     the entity hash, <prefix><keyspace>:{<id>}
-- KEYS[2..]   index sorted sets referenced by position from the blocks below (standalone only;
--             on Cluster only KEYS[1] is passed and every block uses expected '*')
-- ARGV[1]     the entity id, stored as the member of index sorted sets
-- ARGV[2]     TTL in ms: > 0 sets it; 0 keeps the TTL the hash had before (none if it had none)
-- ARGV[3]     n, the number of index blocks (one per @Indexed property)
-- ARGV[4..3+5n]   n blocks of 5: field, new encoding, new key position, expected stored
--                 encoding, position of its key (see includes/entity-write.lua)
-- ARGV[4+5n..]    field/value pairs of the whole entity (at least one pair)
--
-- Returns { status, expiresAtMs, old_1 .. old_n }:
--   status  1  saved; expiresAtMs is the absolute expiry in ms (the score of index entries), -1
--              when the hash has no TTL, and also -1 when n = 0 (no index needs it)
--   status -1  nothing written: a stored indexed value had no key named for it; old_i are the
--              stored encodings ('' when absent) to retry with
--   old_i   the encodings stored before the save ('' when absent), so that Cluster callers can
--           move index entries afterwards
-- @include index-entries.lua
-- @include entity-write.lua

local hash = KEYS[1]
local id = ARGV[1]
local ttl = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local blocks = read_blocks(4, n)
local removeFrom, olds = plan_removals(hash, blocks)
if not removeFrom then return reply(-1, -1, olds) end

local keep = 0
if ttl == 0 then keep = redis.call('PTTL', hash) end
redis.call('DEL', hash)
redis.call('HSET', hash, unpack(ARGV, 4 + 5 * n))
if ttl > 0 then
  redis.call('PEXPIRE', hash, ttl)
elseif keep > 0 then
  redis.call('PEXPIRE', hash, keep)
end

if n == 0 then return reply(1, -1, olds) end
local now = now_ms()
local score = entity_score(hash, now)
apply_moves(blocks, removeFrom, id, score, now)
if score == 'inf' then return reply(1, -1, olds) end
return reply(1, score, olds)
