-- deleteEntities: deletes entity hashes and (on a standalone server) their index entries,
-- atomically: every delete of deleteById, delete, deleteMany and deleteBy. On a standalone
-- server a whole batch is one call (one script's overhead, one DEL and one ZMSCORE + ZREM per
-- index key, however many entities); on Cluster, where every entity has a slot of its own, it is
-- called per entity with only its hash and '*' blocks, and index entries are removed afterwards.
-- Called with a variable number of keys (numkeys is passed on each call).
--
-- KEYS[..]    the entity hashes and the index sorted sets, referenced by position from ARGV
-- ARGV[1]     e, the number of entities
-- then per entity:
--   hash position in KEYS, entity id (index member),
--   guard: the number (1..n) of the block whose field must hold the guard value for the entity
--          to be deleted (deleteBy: "still holds the queried value"), or 0 for none,
--   the guard value (an encoding; '' when there is no guard),
--   n, the number of index blocks, and n blocks of 5 with new encoding '' and new position 0
--   (see includes/entity-write.lua)
--
-- Returns one reply per entity, in order, each { status, -1, old_1 .. old_n }:
--   status  1      deleted; old_i are the encodings it held, for Cluster callers to clean up
--   status  GONE   no such entity, or (guarded) it no longer holds the guarded value: untouched
--                  (a guarded member whose entity is gone is removed from the guarded index)
--   status  STALE  untouched: retry it with the stored encodings old_i (see saveEntity)
-- @include entity-write.lua

local e = tonumber(ARGV[1])
local at = 2
local out = {}
local doomed = {}
local removals = {}
local order = {}
for j = 1, e do
  local hash = KEYS[tonumber(ARGV[at])]
  local id = ARGV[at + 1]
  local guard = tonumber(ARGV[at + 2])
  local guardValue = ARGV[at + 3]
  local n = tonumber(ARGV[at + 4])
  local blocks = read_blocks(at + 5, n)
  at = at + 5 + 5 * n
  local removeFrom, olds = plan_removals(hash, blocks)
  if guard > 0 and olds[guard] ~= guardValue then
    out[j] = reply(GONE, -1, {})
    -- A member whose entity is gone (expired, evicted) or holds no value is garbage in this
    -- index: drop it on the way. (Another stored value may share this key's value part, "1" and 1,
    -- so only an absent or null value proves the member does not belong.)
    local pos = blocks[guard].oldPos
    if pos > 0 and unindexed(olds[guard]) then
      if not removals[pos] then
        removals[pos] = {}
        order[#order + 1] = pos
      end
      table.insert(removals[pos], id)
    end
  elseif not removeFrom then
    out[j] = reply(STALE, -1, olds)
  else
    local existed = true
    if guard > 0 then
      -- It holds the guarded value, so it exists: one DEL for the whole batch will do.
      doomed[#doomed + 1] = hash
    else
      existed = redis.call('DEL', hash) == 1
    end
    if existed then
      out[j] = reply(1, -1, olds)
      for i, r in ipairs(removeFrom) do
        if r > 0 then
          if not removals[r] then
            removals[r] = {}
            order[#order + 1] = r
          end
          table.insert(removals[r], id)
        end
      end
    else
      out[j] = reply(GONE, -1, {})
    end
  end
end

if #doomed > 0 then redis.call('DEL', unpack(doomed)) end
for _, r in ipairs(order) do index_remove_many(KEYS[r], removals[r]) end
return out
