-- session-ttl.lua: how long a session may live from now.

-- The idle timeout, capped by what remains of the absolute timeout (0 = no absolute timeout).
local function session_ttl(now, created, idle, absolute)
  local ttl = idle
  if absolute > 0 then
    local left = created + absolute - now
    if left < ttl then ttl = left end
  end
  return ttl
end

-- Appends ARGV[first .. first + count - 1] to `list` and returns it.
local function append_args(list, first, count)
  for i = first, first + count - 1 do list[#list + 1] = ARGV[i] end
  return list
end
