-- migrateLegacySession: turns an express-session + connect-redis session into a tidykv session in
-- one atomic step, and only if the legacy value is still exactly the one the client read and
-- decoded (compare-and-swap): it writes the session hash with its TTL (and principal index entry),
-- leaves a marker naming the new session for as long as the legacy key would have lived, and
-- deletes the legacy key. Nothing is ever half-migrated: either all of that happens or nothing.
--
-- The new id is derived from the legacy key (an HMAC only the server can compute), so every
-- concurrent migration of one legacy session names the same hash: the first one creates it, the
-- others find it and join it. Once migrated, the legacy session stays retired: a legacy key an old
-- server writes again (a slow save that began before the migration) is deleted, never migrated
-- a second time, while the marker lives. Idempotent: a re-send finds the session and joins it.
--
-- KEYS[1]  legacy session      <legacy prefix><sid> (connect-redis JSON string; any slot)
-- KEYS[2]  new session hash    <prefix>s:{<tag>}<secret> (same slot as KEYS[1] on Cluster)
-- KEYS[3]  principal index     <prefix>u:{<tag>} (same slot; untouched when ARGV[6] is "")
-- KEYS[4]  migration marker    <prefix>l:{<tag'>}<digest> (same slot as KEYS[1])
-- ARGV[1]  the legacy value exactly as the client read it
-- ARGV[2]  the new session id (what the marker holds)
-- ARGV[3]  default idle timeout, ms
-- ARGV[4]  absolute timeout, ms (0 = none)
-- ARGV[5]  createdAt to keep, epoch ms (0 = now): when express-session last saved the session
-- ARGV[6]  principal index member "<id>:<stored principal>", or "" for no index entry
-- ARGV[7]  the legacy cookie's expiry, epoch ms (0 = none recorded)
-- ARGV[8]  shortest life of the marker, ms
-- ARGV[9..] field, value pairs of the attributes
--
-- Returns: { 1, ttl (ms, > 0), createdAt (as stored in '#c'), now (server epoch ms) } migrated
--          { 2, field1, value1, ... }  already migrated (a concurrent request, or a re-send):
--                                      the session hash as stored
--          { 3, id }      migrated by a concurrent request that read another value, under id
--          GONE (-1)      no legacy session any more (expired, logged out, or migrated and then
--                         logged out): nothing written (a re-written legacy key is deleted)
--          EXPIRED (-3)   the legacy cookie had expired, or the absolute timeout has elapsed:
--                         nothing written
--          STALE (-4)     the legacy value changed since it was read (an old server saved it):
--                         nothing written; read it again
--
-- Calls: HGETALL, GET (marker), GET (legacy); migrating adds TIME, PTTL, HSET, PEXPIRE, SET PX,
-- DEL and, with the index, its entry. Joining adds DEL.
-- @include codes.lua
-- @include time.lua
-- @include index-entries.lua
-- @include session-ttl.lua

local h = redis.call('HGETALL', KEYS[2])
if #h > 0 then
  redis.call('DEL', KEYS[1])
  local out = { 2 }
  for i = 1, #h do out[#out + 1] = h[i] end
  return out
end
local marked = redis.call('GET', KEYS[4])
if marked then
  redis.call('DEL', KEYS[1])
  if marked == ARGV[2] then return GONE end
  return { 3, marked }
end
local current = redis.call('GET', KEYS[1])
if not current then return GONE end
if current ~= ARGV[1] then return STALE end

local now = now_ms()
local expires = tonumber(ARGV[7])
if expires > 0 and expires <= now then return EXPIRED end
local created = tonumber(ARGV[5])
if created == 0 or created > now then created = now end
local ttl = session_ttl(now, created, tonumber(ARGV[3]), tonumber(ARGV[4]))
if ttl <= 0 then return EXPIRED end

-- The marker lives as long as the legacy key would have (a key without TTL: as long as the session).
local life = redis.call('PTTL', KEYS[1])
if life < 0 then life = ttl end
life = math.max(life, tonumber(ARGV[8]))

local fields = { '#c', created, '#a', now - created }
append_args(fields, 9, #ARGV - 8)
redis.call('HSET', KEYS[2], unpack(fields))
redis.call('PEXPIRE', KEYS[2], ttl)
if ARGV[6] ~= '' then index_put(KEYS[3], ARGV[6], now + ttl, now) end
redis.call('SET', KEYS[4], ARGV[2], 'PX', life)
redis.call('DEL', KEYS[1])
return { 1, ttl, created, now }
