-- updateEntity: changes fields of an EXISTING entity hash, keeping its TTL unless told otherwise,
-- and (on a standalone server) moves the index entries of the changed indexed fields atomically.
-- It never creates a hash: an update racing a delete or an expiry writes nothing. Used for
-- patches that touch @Indexed properties, for expire() and persist() of entities with @Indexed
-- properties (no pairs, a TTL change, blocks that keep each stored value so its entry is
-- re-scored), and for persist() of any entity; other patches use updateFields.
-- Called with a variable number of keys (numkeys is passed on each call).
--
-- KEYS[1]     the entity hash, <prefix><keyspace>:{<id>}
-- KEYS[2..]   index sorted sets referenced by position from the blocks (standalone only)
-- ARGV[1]     the entity id (index member)
-- ARGV[2]     TTL change: 'keep', 'persist', or a TTL in ms (> 0)
-- ARGV[3]     n, the number of index blocks (indexed fields being written or re-scored)
-- ARGV[4..3+5n]   n blocks of 5 (see includes/entity-write.lua)
-- ARGV[4+5n]      m, the number of field/value pairs to set
-- ARGV[5+5n..4+5n+2m]  the pairs
-- ARGV[5+5n+2m..]      fields to delete (properties set to undefined)
--
-- Redis calls: a plain update is EXISTS + HSET (+ HDEL); with blocks or a TTL change, PTTL
-- stands in for EXISTS (it tells existence and the old expiry), plus HMGET, TIME, the TTL
-- command and the index moves. The marker-field dance (HSET @, HDEL, HLEN, HDEL @) runs only
-- when the patch removes fields and sets none, the one case that could empty the hash.
--
-- Returns { status, expiresAtMs, old_1 .. old_n }:
--   status  1      updated; expiresAtMs as in saveEntity (-1 = no TTL, or no blocks)
--   status  GONE   no such entity; nothing written
--   status  STALE  nothing written: retry with the stored encodings old_i (see saveEntity)
-- @include entity-write.lua

local hash = KEYS[1]
local id = ARGV[1]
local ttlArg = ARGV[2]
local n = tonumber(ARGV[3])
local before = nil
if n > 0 or ttlArg ~= 'keep' then
  before = redis.call('PTTL', hash)
  if before == -2 then return reply(GONE, -1, {}) end
elseif redis.call('EXISTS', hash) == 0 then
  return reply(GONE, -1, {})
end
local blocks = read_blocks(4, n)
local removeFrom, olds = plan_removals(hash, blocks)
if not removeFrom then return reply(STALE, -1, olds) end

local m = tonumber(ARGV[4 + 5 * n])
local firstPair = 5 + 5 * n
local firstDel = firstPair + 2 * m
if m > 0 then redis.call('HSET', hash, unpack(ARGV, firstPair, firstDel - 1)) end
if #ARGV >= firstDel then
  if m > 0 then
    -- The fields just set keep the hash, and its TTL, alive.
    redis.call('HDEL', hash, unpack(ARGV, firstDel))
  else
    -- Deleting every field would delete the key and its TTL with it: keep the marker field.
    redis.call('HSET', hash, '@', '1')
    redis.call('HDEL', hash, unpack(ARGV, firstDel))
    if redis.call('HLEN', hash) > 1 then redis.call('HDEL', hash, '@') end
  end
end

if n == 0 then
  if ttlArg == 'persist' then
    redis.call('PERSIST', hash)
  elseif ttlArg ~= 'keep' then
    redis.call('PEXPIRE', hash, tonumber(ttlArg))
  end
  return reply(1, -1, olds)
end

local now = now_ms()
local oldScore = expiry_of(before, now)
local score = oldScore
if ttlArg == 'persist' then
  redis.call('PERSIST', hash)
  score = 'inf'
elseif ttlArg ~= 'keep' then
  score = now + tonumber(ttlArg)
  redis.call('PEXPIREAT', hash, score)
end
apply_moves(blocks, removeFrom, id, score, oldScore, now)
if score == 'inf' then return reply(1, -1, olds) end
return reply(1, score, olds)
