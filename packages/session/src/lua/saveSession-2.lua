-- saveSession: applies an attribute delta to an existing session, atomically, and never
-- recreates a session that expired or was invalidated meanwhile. This is the write that also
-- re-arms the TTL and the principal index entry, touches lastAccessedAt when due and applies an
-- idle timeout change; the common write, which needs none of that, is saveSessionDelta.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<secret>
-- KEYS[2]  principal index     <prefix>u:{<tag>} (same slot; untouched when ARGV[5] is "")
-- ARGV[1]  createdAt as stored in '#c'
-- ARGV[2]  default idle timeout, ms
-- ARGV[3]  absolute timeout, ms, 0 = none
-- ARGV[4]  touch interval, ms: lastAccessedAt moves at most this often
-- ARGV[5]  name of the principal attribute field, or "" when the index is off
-- ARGV[6]  session id, the index member prefix
-- ARGV[7]  idle timeout change: -1 keep, 0 back to the default, > 0 set it (ms)
-- ARGV[8]  n, the number of attributes set
-- ARGV[9]  m, the number of attributes deleted
-- ARGV[10 .. 9+2n]      field, value pairs to set
-- ARGV[10+2n .. 9+2n+m] fields to delete
--
-- Returns: the TTL now set, ms (> 0)
--          GONE (-1)     the session no longer exists: nothing was written (the write is dropped)
--          EXPIRED (-3)  the absolute timeout has elapsed: the session was deleted
--
-- Calls: HMGET, TIME, HSET and/or HDEL, PEXPIRE, and with the index ZADD + PEXPIREAT (a
-- principal change also ZREM).
-- @include codes.lua
-- @include time.lua
-- @include index-entries.lua
-- @include session-ttl.lua

local n = tonumber(ARGV[8])
local m = tonumber(ARGV[9])
local firstDel = 10 + 2 * n

local pf = ARGV[5]
local meta
if pf ~= '' then meta = redis.call('HMGET', KEYS[1], '#a', '#i', pf) else meta = redis.call('HMGET', KEYS[1], '#a', '#i') end
-- Every live session has '#a'.
if not meta[1] then return GONE end
local now = now_ms()
local created = tonumber(ARGV[1])
local last = created + tonumber(meta[1])
local change = tonumber(ARGV[7])
local idle = tonumber(meta[2] or ARGV[2])
if change > 0 then idle = change elseif change == 0 then idle = tonumber(ARGV[2]) end
local oldP = pf ~= '' and meta[3] or false
local id = ARGV[6]

local ttl = session_ttl(now, created, idle, tonumber(ARGV[3]))
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  if oldP then index_remove(KEYS[2], id .. ':' .. oldP) end
  return EXPIRED
end

local sets = append_args({}, 10, 2 * n)
local newP = oldP
for i = 1, #sets, 2 do
  if sets[i] == pf then newP = sets[i + 1] end
end
-- Throttled and monotonic: lastAccessedAt moves at most once per interval, and only forwards.
if now - last >= tonumber(ARGV[4]) then
  sets[#sets + 1] = '#a'
  sets[#sets + 1] = now - created
end
if change > 0 then
  sets[#sets + 1] = '#i'
  sets[#sets + 1] = change
end
if #sets > 0 then redis.call('HSET', KEYS[1], unpack(sets)) end
local dels = append_args({}, firstDel, m)
for i = 1, #dels do
  if dels[i] == pf then newP = false end
end
if change == 0 then dels[#dels + 1] = '#i' end
if #dels > 0 then redis.call('HDEL', KEYS[1], unpack(dels)) end
redis.call('PEXPIRE', KEYS[1], ttl)

if oldP and oldP ~= newP then index_remove(KEYS[2], id .. ':' .. oldP) end
if newP then index_put(KEYS[2], id .. ':' .. newP, now + ttl, now) end
return ttl
