-- codes.lua: the reply codes every tidykv script shares. They mirror the TidyKvReply enum of
-- @tidykv/core (tidykv.codes.ts); a unit test checks the two agree.

-- The record no longer exists (expired, deleted, logged out): nothing was written.
local GONE = -1
-- The id a record was to be created or moved under is already taken: nothing was written.
local TAKEN = -2
-- A session's absolute timeout has elapsed: it is dead, nothing was written.
local EXPIRED = -3
-- The caller's view of stored values was out of date: nothing was written, retry with the reply.
local STALE = -4
