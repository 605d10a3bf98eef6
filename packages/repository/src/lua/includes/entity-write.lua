-- Shared parsing of the per-index-property argument blocks used by saveEntity, updateEntity and
-- deleteEntity, and the compare step that keeps index moves atomic with the entity write.
--
-- Each block is 5 ARGV entries: field name, new encoded value ('' = no new entry), position in
-- KEYS of the new index key (0 = none), expected stored encoding ('*' = accept anything and touch
-- no index: the Cluster mode, where index keys live in other slots), position in KEYS of the
-- index key for that expected value (0 = none).

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

-- Reads the stored encodings of the block fields and decides, per block, which index key (if any)
-- holds the entity's current entry. Returns nil plus the stored values when a stored value is one
-- the caller did not name a key for: the caller then retries with the right keys.
local function plan_removals(hash, blocks)
  local olds = {}
  if #blocks == 0 then return {}, olds end
  local fields = {}
  for i, b in ipairs(blocks) do fields[i] = b.field end
  local stored = redis.call('HMGET', hash, unpack(fields))
  local removeFrom = {}
  local ok = true
  for i, b in ipairs(blocks) do
    local s = stored[i] or ''
    olds[i] = s
    if b.expected == '*' or unindexed(s) then
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

-- Absolute expiry in ms of KEYS[1], or 'inf' when it has none.
local function entity_score(hash, now)
  local pttl = redis.call('PTTL', hash)
  if pttl < 0 then return 'inf' end
  return now + pttl
end

local function apply_moves(blocks, removeFrom, id, score, now)
  for i, b in ipairs(blocks) do
    local r = removeFrom[i]
    if r > 0 and r ~= b.newPos then remove_entry(KEYS[r], id, now) end
    if b.newPos > 0 then add_entry(KEYS[b.newPos], id, score, now) end
  end
end

local function reply(status, expiresAt, olds)
  local out = { status, expiresAt }
  for i, s in ipairs(olds) do out[i + 2] = s end
  return out
end
