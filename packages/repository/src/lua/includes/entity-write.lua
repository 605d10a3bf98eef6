-- entity-write.lua: what saveEntity, updateEntity and deleteEntities share: the per-@Indexed
-- argument blocks, the compare step that keeps index moves atomic with the entity write, and
-- index moves built on the shared index helpers.
--
-- Each block is 5 ARGV entries: field name, new encoded value ('' = no new entry; '*' = keep the
-- stored value and re-score its entry, for TTL changes), position in KEYS of the new index key
-- (0 = none), expected stored encoding ('*' = accept anything and touch no index: the Cluster
-- mode, where index keys live in other slots), position in KEYS of the index key for that
-- expected value (0 = none). The client builds them in one place (src/internal/index-blocks.ts).
-- @include codes.lua
-- @include time.lua
-- @include index-entries.lua

-- Stored encodings that have no index entry: the field is absent, or holds null.
local function unindexed(enc)
  return enc == '' or enc == 'null'
end

local function read_blocks(start, count)
  local blocks = {}
  for i = 0, count - 1 do
    local b = start + i * 5
    blocks[i + 1] = {
      field = ARGV[b], new = ARGV[b + 1], newPos = tonumber(ARGV[b + 2]),
      expected = ARGV[b + 3], oldPos = tonumber(ARGV[b + 4]),
    }
  end
  return blocks
end

-- Reads the stored encodings of the block fields (one HMGET) and decides, per block, which index
-- key (if any) holds the entity's current entry. Returns nil plus the stored values when a stored
-- value is one the caller did not name a key for: the caller then retries with the right keys.
-- A key that is not a hash (another program's data) holds no entry of ours.
local function plan_removals(hash, blocks)
  local olds = {}
  if #blocks == 0 then return {}, olds end
  local fields = {}
  for i, b in ipairs(blocks) do fields[i] = b.field end
  local stored = redis.pcall('HMGET', hash, unpack(fields))
  if stored.err then
    -- Anything but a wrong type (OOM, say) fails the script as redis.call would.
    if not string.find(stored.err, 'WRONGTYPE', 1, true) then error(stored) end
    stored = {}
  end
  local removeFrom = {}
  local ok = true
  for i, b in ipairs(blocks) do
    local s = stored[i] or ''
    olds[i] = s
    if b.expected == '*' then
      removeFrom[i] = 0
    elseif b.new == '*' then
      -- Keep: the entry to re-score is the stored value's, so the caller must have named its key,
      -- also when nothing is stored where it expected a value (or the reverse).
      if s == b.expected or (unindexed(s) and unindexed(b.expected)) then
        removeFrom[i] = b.oldPos
      else
        ok = false
      end
    elseif unindexed(s) then
      removeFrom[i] = 0
    elseif s == b.new then
      removeFrom[i] = b.newPos
    elseif s == b.expected and b.oldPos > 0 then
      removeFrom[i] = b.oldPos
    else
      ok = false
    end
  end
  if not ok then return nil, olds end
  return removeFrom, olds
end

-- True when some block writes an entry (or, in Cluster mode, the caller needs the score to write it).
local function writes_entries(blocks)
  for _, b in ipairs(blocks) do
    if b.newPos > 0 or b.expected == '*' then return true end
  end
  return false
end

-- True when some entry stays in the index key it is in, so its old score matters.
local function entry_stays(blocks, removeFrom)
  for i, b in ipairs(blocks) do
    if b.newPos > 0 and removeFrom[i] == b.newPos then return true end
  end
  return false
end

-- The absolute expiry (ms) of a key whose PTTL is `pttl` at `now`: 'inf' when it has none.
local function expiry_of(pttl, now)
  if pttl < 0 then return 'inf' end
  return now + pttl
end

-- True when `score` (ms or 'inf') is earlier than `old`.
local function earlier(score, old)
  if score == 'inf' then return false end
  if old == 'inf' then return true end
  return score < old
end

-- Puts `id` in `idx` scored `score`; `old` is its score there before (nil: it was not a member).
-- index_put never moves a key's expiry earlier (sessions only ever extend), but an entity's
-- expiry can go down (expire() to less, a TTL given to an entity that had none): then the key is
-- realigned with its members, so it still expires with its longest-lived entity.
local function entry_put(idx, id, score, old, now)
  if old ~= nil and earlier(score, old) then
    redis.call('ZADD', idx, score, id)
    index_refresh(idx, now)
  else
    index_put(idx, id, score, now)
  end
end

-- Moves the entries of entity `id`: out of the key of the value it held when that value changes,
-- into the key of its new value, scored `score`. `oldScore` is the entity's expiry before the write.
local function apply_moves(blocks, removeFrom, id, score, oldScore, now)
  for i, b in ipairs(blocks) do
    local r = removeFrom[i]
    if r > 0 and r ~= b.newPos then index_remove_realign(KEYS[r], id, now) end
    if b.newPos > 0 then
      local old = nil
      if r == b.newPos then old = oldScore end
      entry_put(KEYS[b.newPos], id, score, old, now)
    end
  end
end

-- Removes `members` from index `idx` with three calls however many there are (ZMSCORE, ZREM,
-- and the realignment of index_remove_realign: the key keeps expiring with its longest-lived
-- remaining member).
local function index_remove_many(idx, members)
  local scores = redis.call('ZMSCORE', idx, unpack(members))
  redis.call('ZREM', idx, unpack(members))
  local highest = nil
  for _, s in ipairs(scores) do
    if s == 'inf' then
      highest = 'inf'
      break
    elseif s and (highest == nil or tonumber(s) > highest) then
      highest = tonumber(s)
    end
  end
  if highest ~= nil then index_align_after_removal(idx, highest) end
end

-- Writes the entity's fields (ARGV[first..], field/value pairs, `count` of them) into `hash` in
-- place, and removes the fields it no longer has. In place, because HSET keeps the key's TTL:
-- the hash is never without its TTL, and a save that keeps the TTL needs no PTTL/PEXPIRE. A key
-- that is not a hash (another program's data) is replaced, keeping its TTL.
local function write_fields(hash, first, count)
  local set = redis.pcall('HSET', hash, unpack(ARGV, first))
  if type(set) == 'table' and set.err then
    if not string.find(set.err, 'WRONGTYPE', 1, true) then error(set) end
    local keep = redis.call('PTTL', hash)
    redis.call('DEL', hash)
    redis.call('HSET', hash, unpack(ARGV, first))
    if keep > 0 then redis.call('PEXPIRE', hash, keep) end
    return
  end
  -- The hash now holds every new field; it holds nothing else unless it has more fields than that.
  if redis.call('HLEN', hash) > count then
    local keep = {}
    for i = first, #ARGV, 2 do keep[ARGV[i]] = true end
    local stale = {}
    for _, f in ipairs(redis.call('HKEYS', hash)) do
      if not keep[f] then stale[#stale + 1] = f end
    end
    redis.call('HDEL', hash, unpack(stale))
  end
end

local function reply(status, expiresAt, olds)
  local out = { status, expiresAt }
  for i, s in ipairs(olds) do out[i + 2] = s end
  return out
end
