-- saveFields: inserts or replaces the hash of an entity without @Indexed properties, keeping its
-- TTL or setting a new one. The save of such an entity is one RESTORE when its TTL is known and
-- the server takes RESTORE; this script is the save when the TTL is kept (the class has none and
-- the instance gives none) or when the server refuses RESTORE. It includes no shared fragment,
-- because every function a script defines is created again on each call: a script this small
-- costs Redis about half what the general saveEntity costs for the same work.
--
-- KEYS[1]   the entity hash, <prefix><keyspace>:{<id>}
-- ARGV[1]   TTL in ms: > 0 sets it; 0 keeps the TTL the hash had before (none if it had none)
-- ARGV[2..] field/value pairs of the whole entity (at least one pair, distinct fields)
--
-- Redis calls: HSET + HLEN (+ PEXPIRE with a TTL). The fields are written in place, because HSET
-- keeps the key's TTL: the hash is never without its TTL. HKEYS + HDEL run only when the stored
-- entity has fields the new one lacks; a key of another type (another program's data) is
-- replaced, keeping its TTL.
--
-- Returns 1.

local hash = KEYS[1]
local ttl = tonumber(ARGV[1])
local count = (#ARGV - 1) / 2
local set = redis.pcall('HSET', hash, unpack(ARGV, 2))
if type(set) == 'table' and set.err then
  if not string.find(set.err, 'WRONGTYPE', 1, true) then error(set) end
  local keep = redis.call('PTTL', hash)
  redis.call('DEL', hash)
  redis.call('HSET', hash, unpack(ARGV, 2))
  if keep > 0 then redis.call('PEXPIRE', hash, keep) end
elseif redis.call('HLEN', hash) > count then
  -- The hash holds every new field, and more: drop the ones the entity no longer has.
  local keep = {}
  for i = 2, #ARGV, 2 do keep[ARGV[i]] = true end
  local stale = {}
  for _, f in ipairs(redis.call('HKEYS', hash)) do
    if not keep[f] then stale[#stale + 1] = f end
  end
  redis.call('HDEL', hash, unpack(stale))
end
if ttl > 0 then redis.call('PEXPIRE', hash, ttl) end
return 1
