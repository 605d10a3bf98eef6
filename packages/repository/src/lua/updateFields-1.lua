-- updateFields: changes fields of an EXISTING entity hash and keeps its TTL: the update() of a
-- patch that touches no @Indexed property. It never creates a hash: an update racing a delete or
-- an expiry writes nothing. It includes no shared fragment (see saveFields), so the common
-- update costs Redis one small script: EXISTS + HSET.
--
-- KEYS[1]   the entity hash, <prefix><keyspace>:{<id>}
-- ARGV[1]   m, the number of field/value pairs to set
-- ARGV[2..1+2m]   the pairs
-- ARGV[2+2m..]    fields to delete (properties set to undefined)
--
-- Redis calls: EXISTS, HSET when m > 0, HDEL when fields are removed; the marker-field dance
-- (HSET @, HDEL, HLEN, HDEL @) only when the patch removes fields and sets none, the one case
-- that could empty the hash and so drop its TTL.
--
-- Returns { 1, -1 } when updated, { GONE, -1 } when there is no such entity (nothing written).
-- @include codes.lua

local hash = KEYS[1]
if redis.call('EXISTS', hash) == 0 then return { GONE, -1 } end
local m = tonumber(ARGV[1])
local firstDel = 2 + 2 * m
if m > 0 then redis.call('HSET', hash, unpack(ARGV, 2, firstDel - 1)) end
if #ARGV >= firstDel then
  if m > 0 then
    -- The fields just set keep the hash, and its TTL, alive.
    redis.call('HDEL', hash, unpack(ARGV, firstDel))
  else
    redis.call('HSET', hash, '@', '1')
    redis.call('HDEL', hash, unpack(ARGV, firstDel))
    if redis.call('HLEN', hash) > 1 then redis.call('HDEL', hash, '@') end
  end
end
return { 1, -1 }
