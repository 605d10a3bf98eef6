-- saveEntity: inserts or replaces one entity hash of a class with @Indexed properties, applies
-- its TTL in the same step, and (on a standalone server) moves its index entries, all
-- atomically. Called with a variable number of keys (numkeys is passed on each call). Entities
-- without @Indexed properties are saved by one RESTORE, or by saveFields.
--
-- KEYS[1]     the entity hash, <prefix><keyspace>:{<id>}
-- KEYS[2..]   index sorted sets referenced by position from the blocks below (standalone only;
--             on Cluster only KEYS[1] is passed and every block uses expected '*')
-- ARGV[1]     the entity id, stored as the member of index sorted sets
-- ARGV[2]     TTL in ms: > 0 sets it; 0 keeps the TTL the hash had before (none if it had none)
-- ARGV[3]     n, the number of index blocks (one per @Indexed property)
-- ARGV[4..3+5n]   n blocks of 5: field, new encoding, new key position, expected stored
--                 encoding, position of its key (see includes/entity-write.lua)
-- ARGV[4+5n..]    field/value pairs of the whole entity (at least one pair, distinct fields)
--
-- Redis calls: HMGET (the stored indexed values), HSET + HLEN (fields in place: HSET keeps the
-- key's TTL, so the hash is never without one; HKEYS + HDEL only when the stored entity has
-- fields the new one lacks), TIME, PEXPIREAT with a TTL, PTTL when an entry stays in its key
-- (its score may go down) or the TTL is kept (it is the score), and per entry ZADD + PEXPIREAT
-- GT when re-scored, or the prune and realign of index_refresh for a new member or a lower
-- score. The common re-save (indexed value unchanged) is 8 calls.
--
-- Returns { status, expiresAtMs, old_1 .. old_n }:
--   status  1      saved; expiresAtMs is the absolute expiry in ms (the score of index entries), -1
--                  when the hash has no TTL, and also -1 when n = 0 (no index needs it)
--   status  STALE  nothing written: a stored indexed value had no key named for it; old_i are the
--                  stored encodings ('' when absent) to retry with
--   old_i   the encodings stored before the save ('' when absent), so that Cluster callers can
--           move index entries afterwards
-- @include entity-write.lua

local hash = KEYS[1]
local id = ARGV[1]
local ttl = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local blocks = read_blocks(4, n)
local removeFrom, olds = plan_removals(hash, blocks)
if not removeFrom then return reply(STALE, -1, olds) end
local first = 4 + 5 * n
local count = (#ARGV - first + 1) / 2

if not writes_entries(blocks) then
  write_fields(hash, first, count)
  if ttl > 0 then redis.call('PEXPIRE', hash, ttl) end
  return reply(1, -1, olds)
end

-- The expiry before the save: the new score when the TTL is kept, and the old score of an entry
-- that stays in its key (to tell whether it goes down).
local before = nil
if ttl == 0 or entry_stays(blocks, removeFrom) then before = redis.call('PTTL', hash) end
write_fields(hash, first, count)
local now = now_ms()
local score
if ttl > 0 then
  score = now + ttl
  redis.call('PEXPIREAT', hash, score)
else
  score = expiry_of(before, now)
end
local oldScore = nil
if before ~= nil and before ~= -2 then oldScore = expiry_of(before, now) end
apply_moves(blocks, removeFrom, id, score, oldScore, now)
if score == 'inf' then return reply(1, -1, olds) end
return reply(1, score, olds)
