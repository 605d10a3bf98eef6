-- deleteEntity: deletes one entity hash and (on a standalone server) its index entries, atomically.
-- Called with a variable number of keys (numkeys is passed on each call).
--
-- KEYS[1]     the entity hash, <prefix><keyspace>:{<id>}
-- KEYS[2..]   index sorted sets referenced by position from the blocks (standalone only)
-- ARGV[1]     the entity id (index member)
-- ARGV[2]     n, the number of index blocks (one per @Indexed property)
-- ARGV[3..2+5n]   n blocks of 5 with new encoding '' and new key position 0
--                 (see includes/entity-write.lua)
--
-- Returns { status, -1, old_1 .. old_n }:
--   status  1  deleted; old_i are the encodings it held, for Cluster callers to clean up
--   status  0  no such entity
--   status -1  nothing deleted: retry with the stored encodings old_i (see saveEntity)
-- @include index-entries.lua
-- @include entity-write.lua

local hash = KEYS[1]
local id = ARGV[1]
local n = tonumber(ARGV[2])
if redis.call('EXISTS', hash) == 0 then return { 0, -1 } end
local blocks = read_blocks(3, n)
local removeFrom, olds = plan_removals(hash, blocks)
if not removeFrom then return reply(-1, -1, olds) end
redis.call('DEL', hash)
if n > 0 then apply_moves(blocks, removeFrom, id, 0, now_ms()) end
return reply(1, -1, olds)
