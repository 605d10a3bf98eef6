import type { StoredSession } from './session-repository.js';

/** Hash field of the creation time, epoch ms. Every live session has it. */
export const CREATED_FIELD = '#c';
/** Hash field of lastAccessedAt, stored as an offset (ms) from `#c`: a small integer keeps the listpack small. */
export const ACCESSED_FIELD = '#a';
/** Hash field of the per-session idle timeout override, ms. */
export const IDLE_FIELD = '#i';
/** Fields starting with this are session metadata, never attributes. */
export const RESERVED_PREFIX = '#';

/**
 * Maps the fields of a session hash to a {@link StoredSession}: the only code that knows the
 * metadata fields. Takes `[field, value]` pairs (an HGETALL object's entries) or a flat reply array
 * read from `offset` (a script's `field1, value1, ...` tail).
 */
export function toStoredSession(id: string, fields: Iterable<readonly [string, string]>): StoredSession {
  const attributes = new Map<string, string>();
  let createdAt = 0;
  let accessedOffset = 0;
  let idleTimeoutMs: number | undefined;
  for (const [f, v] of fields) {
    if (f === CREATED_FIELD) createdAt = Number(v);
    else if (f === ACCESSED_FIELD) accessedOffset = Number(v);
    else if (f === IDLE_FIELD) idleTimeoutMs = Number(v);
    else if (!f.startsWith(RESERVED_PREFIX)) attributes.set(f, v);
  }
  return { id, attributes, createdAt, lastAccessedAt: createdAt + accessedOffset, idleTimeoutMs };
}

/** Pairs of a flat `field, value, ...` reply, from position `offset`. */
export function* flatPairs(reply: readonly unknown[], offset: number): Iterable<readonly [string, string]> {
  for (let i = offset; i + 1 < reply.length; i += 2) yield [String(reply[i]), String(reply[i + 1])];
}
