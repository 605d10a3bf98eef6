-- updateEntity: changes fields of an EXISTING entity hash, keeping its TTL unless told otherwise,
-- and (on a standalone server) moves the index entries of the changed indexed fields atomically.
-- It never creates a hash: an update racing a delete or an expiry writes nothing.
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
-- Returns { status, expiresAtMs, old_1 .. old_n }:
--   status  1  updated; expiresAtMs as in saveEntity (-1 = no TTL)
--   status  0  no such entity; nothing written
--   status -1  nothing written: retry with the stored encodings old_i (see saveEntity)
-- @include index-entries.lua
-- @include entity-write.lua

local hash = KEYS[1]
local id = ARGV[1]
local ttlArg = ARGV[2]
local n = tonumber(ARGV[3])
if redis.call('EXISTS', hash) == 0 then return { 0, -1 } end
local blocks = read_blocks(4, n)
local removeFrom, olds = plan_removals(hash, blocks)
if not removeFrom then return reply(-1, -1, olds) end

local m = tonumber(ARGV[4 + 5 * n])
local firstPair = 5 + 5 * n
if m > 0 then redis.call('HSET', hash, unpack(ARGV, firstPair, firstPair + 2 * m - 1)) end
local firstDel = firstPair + 2 * m
if #ARGV >= firstDel then
  -- Deleting every field would delete the key (and its TTL) with it: keep the marker field.
  redis.call('HSET', hash, '@', '1')
  redis.call('HDEL', hash, unpack(ARGV, firstDel))
  if redis.call('HLEN', hash) > 1 then redis.call('HDEL', hash, '@') end
end
if ttlArg == 'persist' then
  redis.call('PERSIST', hash)
elseif ttlArg ~= 'keep' then
  redis.call('PEXPIRE', hash, tonumber(ttlArg))
end

local now = now_ms()
local score = entity_score(hash, now)
apply_moves(blocks, removeFrom, id, score, now)
if score == 'inf' then return reply(1, -1, olds) end
return reply(1, score, olds)
