/**
 * The reply codes every tidykv Lua script shares (`includes/codes.lua` defines the same names).
 * A script replies with a value >= 0 or a structured reply on success, or with one of these; each
 * package maps them to outcomes and typed errors in one function of its `<pkg>.errors.ts`.
 */
export enum TidyKvReply {
  /** The record no longer exists (expired, deleted, logged out): nothing was written. */
  Gone = -1,
  /** The id a record was to be created or moved under is taken: nothing was written. */
  Taken = -2,
  /** A session's absolute timeout has elapsed: it is dead, nothing was written. */
  Expired = -3,
  /** The caller's view of stored values was out of date: nothing was written; retry with the reply. */
  Stale = -4,
}
