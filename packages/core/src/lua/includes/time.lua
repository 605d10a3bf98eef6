-- time.lua: the server's clock, the one clock every tidykv script uses (never a client's).

-- Server time in whole milliseconds since the epoch.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
