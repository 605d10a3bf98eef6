-- saveSession: applies an attribute delta to an existing session, atomically, and never
-- recreates a session that expired or was invalidated meanwhile. Two modes:
--
-- 'lean': no touch is due, the idle timeout and the principal do not change. The session keeps
--   its TTL (HSET and HDEL keep a key's TTL), so the delta is the whole write: one HSET that also
--   proves the session exists. It writes '#c' with the value it already holds: every live session
--   has '#c', so HSET reports n + 1 new fields (n = attributes set) only when the key did not
--   exist, and the resurrected key is deleted in the same step.
-- 'full': also re-arms the TTL and the principal index entry, touches lastAccessedAt when due,
--   and applies an idle timeout change.
--
-- KEYS[1]  session hash        <prefix>s:{<tag>}<secret>
-- KEYS[2]  principal index     <prefix>u:{<tag>} (same slot; untouched when ARGV[6] is "")
-- ARGV[1]  mode: 'lean' or 'full'
-- ARGV[2]  createdAt as stored in '#c' (the existence sentinel of 'lean')
-- ARGV[3]  default idle timeout, ms ('full')
-- ARGV[4]  absolute timeout, ms, 0 = none ('full')
-- ARGV[5]  touch interval, ms: lastAccessedAt moves at most this often ('full')
-- ARGV[6]  name of the principal attribute field, or "" when the index is off ('full')
-- ARGV[7]  session id, the index member prefix ('full')
-- ARGV[8]  idle timeout change ('full'): -1 keep, 0 back to the default, > 0 set it (ms)
-- ARGV[9]  n, the number of attributes set
-- ARGV[10] m, the number of attributes deleted
-- ARGV[11 .. 10+2n]      field, value pairs to set
-- ARGV[11+2n .. 10+2n+m] fields to delete
--
-- Returns: 0 (lean: written, TTL unchanged), or the TTL now set, ms (> 0, full)
--          GONE (-1)     the session no longer exists: nothing was written (the write is dropped)
--          EXPIRED (-3)  the absolute timeout has elapsed: the session was deleted
--
-- Calls: lean 1 (HSET; + HDEL when deleting). Full: HMGET, TIME, HSET and/or HDEL, PEXPIRE, and
-- with the index ZADD + PEXPIREAT (a principal change also ZREM).
-- @include codes.lua
-- @include time.lua
-- @include index-entries.lua
-- @include session-ttl.lua

local n = tonumber(ARGV[9])
local m = tonumber(ARGV[10])
local firstDel = 11 + 2 * n

if ARGV[1] == 'lean' then
  local added = redis.call('HSET', KEYS[1], unpack(append_args({ '#c', ARGV[2] }, 11, 2 * n)))
  if added == n + 1 then
    redis.call('DEL', KEYS[1])
    return GONE
  end
  if m > 0 then redis.call('HDEL', KEYS[1], unpack(ARGV, firstDel, firstDel + m - 1)) end
  return 0
end

local pf = ARGV[6]
local meta
if pf ~= '' then meta = redis.call('HMGET', KEYS[1], '#a', '#i', pf) else meta = redis.call('HMGET', KEYS[1], '#a', '#i') end
-- Every live session has '#a'.
if not meta[1] then return GONE end
local now = now_ms()
local created = tonumber(ARGV[2])
local last = created + tonumber(meta[1])
local change = tonumber(ARGV[8])
local idle = tonumber(meta[2] or ARGV[3])
if change > 0 then idle = change elseif change == 0 then idle = tonumber(ARGV[3]) end
local oldP = pf ~= '' and meta[3] or false
local id = ARGV[7]

local ttl = session_ttl(now, created, idle, tonumber(ARGV[4]))
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  if oldP then index_remove(KEYS[2], id .. ':' .. oldP) end
  return EXPIRED
end

local sets = append_args({}, 11, 2 * n)
local newP = oldP
for i = 1, #sets, 2 do
  if sets[i] == pf then newP = sets[i + 1] end
end
-- Throttled and monotonic: lastAccessedAt moves at most once per interval, and only forwards.
if now - last >= tonumber(ARGV[5]) then
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
