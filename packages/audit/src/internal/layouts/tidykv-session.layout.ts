import { TidyKvKeys } from '@tidykv/core';
import type { IndexRule } from './layout.js';

/** Name of the rule in reports. */
export const TIDYKV_SESSION_RULE = 'tidykv-session-principal';

/**
 * @tidykv/session's principal index, as core's {@link TidyKvKeys} lays it out: a ZSET
 * `<prefix>u:{<tag>}` of `<session id>:<principal>` members scored by expiry ms, each pointing at
 * the session hash of its id. A member whose id is malformed, or does not carry the index's tag,
 * was not written by @tidykv/session and names no session: it is left alone.
 */
export function tidykvSessionRule(keys: TidyKvKeys): IndexRule {
  return {
    name: TIDYKV_SESSION_RULE,
    match: keys.principalIndexGlob,
    // The glob's four `?` capture the tag, one character each.
    target: (member, captures) => keys.targetOfIndexMember(keys.principalIndex(captures.join('')), member),
    scoreIsExpiry: true,
  };
}
