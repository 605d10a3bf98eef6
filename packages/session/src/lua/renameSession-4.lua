-- renameSession: gives a live session a new id (login, against session fixation), keeping its
-- data, applying the request's delta and touching it, atomically. On Redis Cluster both ids carry
-- the same hash tag. Idempotent: a call that finds the old id gone and the new one present is a
-- re-send of itself after a dropped connection (only this request knows the new id), and
-- replies as the first call did.
--
-- KEYS[1]  old session hash    <prefix>s:{<tag>}<old secret>
-- KEYS[2]  new session hash    <prefix>s:{<tag'>}<new secret>
-- KEYS[3]  old principal index <prefix>u:{<tag>}
-- KEYS[4]  new principal index <prefix>u:{<tag'>}
-- ARGV[1]  default idle timeout, ms
-- ARGV[2]  absolute timeout, ms (0 = none)
-- ARGV[3]  name of the principal attribute field, or "" when the index is off
-- ARGV[4]  old session id
-- ARGV[5]  new session id
-- ARGV[6]  idle timeout change: -1 keep, 0 back to the default, > 0 set it (ms)
-- ARGV[7]  n, the number of attributes set
-- ARGV[8]  m, the number of attributes deleted
-- ARGV[9 .. 8+2n]      field, value pairs to set
-- ARGV[9+2n .. 8+2n+m] fields to delete
--
-- Returns: { ttl of the session under its new id (ms, > 0), createdAt as stored in '#c' }
--          GONE (-1)     the old session no longer exists (nothing written)
--          EXPIRED (-3)  the absolute timeout has elapsed: the old session was deleted
--
-- Calls: HMGET, TIME, RENAME, HSET, PEXPIRE (+ HDEL when deleting), and with the index ZREM of
-- the old entry plus the new entry.
-- @include codes.lua
-- @include time.lua
-- @include index-entries.lua
-- @include session-ttl.lua

local pf = ARGV[3]
local meta
if pf ~= '' then meta = redis.call('HMGET', KEYS[1], '#c', '#a', '#i', pf) else meta = redis.call('HMGET', KEYS[1], '#c', '#a', '#i') end
if not meta[1] then
  local again = redis.call('HMGET', KEYS[2], '#c')
  if again[1] then return { redis.call('PTTL', KEYS[2]), tonumber(again[1]) } end
  return GONE
end
local now = now_ms()
local created = tonumber(meta[1])
local last = created + tonumber(meta[2] or '0')
local change = tonumber(ARGV[6])
local idle = tonumber(meta[3] or ARGV[1])
if change > 0 then idle = change elseif change == 0 then idle = tonumber(ARGV[1]) end
local oldP = pf ~= '' and meta[4] or false

local ttl = session_ttl(now, created, idle, tonumber(ARGV[2]))
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  if oldP then index_remove(KEYS[3], ARGV[4] .. ':' .. oldP) end
  return EXPIRED
end

redis.call('RENAME', KEYS[1], KEYS[2])
local n = tonumber(ARGV[7])
local m = tonumber(ARGV[8])
local sets = append_args({}, 9, 2 * n)
local newP = oldP
for i = 1, #sets, 2 do
  if sets[i] == pf then newP = sets[i + 1] end
end
if now > last then
  sets[#sets + 1] = '#a'
  sets[#sets + 1] = now - created
end
if change > 0 then
  sets[#sets + 1] = '#i'
  sets[#sets + 1] = change
end
if #sets > 0 then redis.call('HSET', KEYS[2], unpack(sets)) end
local dels = append_args({}, 9 + 2 * n, m)
for i = 1, #dels do
  if dels[i] == pf then newP = false end
end
if change == 0 then dels[#dels + 1] = '#i' end
if #dels > 0 then redis.call('HDEL', KEYS[2], unpack(dels)) end
redis.call('PEXPIRE', KEYS[2], ttl)

if oldP then index_remove(KEYS[3], ARGV[4] .. ':' .. oldP) end
if newP then index_put(KEYS[4], ARGV[5] .. ':' .. newP, now + ttl, now) end
return { ttl, created }
