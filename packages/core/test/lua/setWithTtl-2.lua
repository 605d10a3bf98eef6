-- setWithTtl: test fixture for the script loader. Sets two keys that share a hash tag, each with a TTL.
-- KEYS[1]  first key
-- KEYS[2]  second key (same hash tag as KEYS[1])
-- ARGV[1]  value
-- ARGV[2]  TTL in ms
-- Returns  the number of keys written (2), or -1 when KEYS[1] already exists.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return -1
end
-- @include setPx.lua
setPx(KEYS[1], ARGV[1], ARGV[2])
setPx(KEYS[2], ARGV[1], ARGV[2])
return 2
