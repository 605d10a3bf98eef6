-- setPx(key, value, ttlMs): a shared fragment, included to prove `-- @include` works.
local function setPx(key, value, ttlMs)
  redis.call('SET', key, value, 'PX', ttlMs)
end
