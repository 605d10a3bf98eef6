-- key-facts.lua: how the auditor's read-only scripts time themselves, and the length read of each
-- type. Shared by inspectKeys (keys given) and scanInspect (keys from SCAN). The per-key reads stay
-- inline in each script's loop, the scan's hottest path, so it makes no Lua function call per key.

-- Microseconds on the server's clock, or nil when the ACL user may not run TIME (a `+@read`
-- profile does not grant it). TIME advances inside a script, so two readings time it.
local function now_us()
  local t = redis.pcall('TIME')
  if t['err'] then return nil end
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- The O(1) length read of each type; module types have none (length 0).
local LENGTH_OF = { string = 'STRLEN', hash = 'HLEN', set = 'SCARD', zset = 'ZCARD', list = 'LLEN', stream = 'XLEN' }
