import { TidyKvConfigError, TidyKvKeyError, describe } from './tidykv.errors.js';

/** Longest id, in UTF-16 code units, that a key part may be built from. Keys are stored in full in memory. */
export const MAX_ID_LENGTH = 512;

// Everything outside this set is percent-encoded: it keeps `:` (our separator), `{}` (hash tags),
// `*?[]\` (SCAN MATCH globs), `%` (the escape itself), whitespace and non-ASCII out of raw keys.
const SAFE = /^[A-Za-z0-9_.~-]*$/;
const UNSAFE_CHAR = /[^A-Za-z0-9_.~-]/gu;
// In `u` mode a surrogate pair is one code point, so this matches only a lone surrogate.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Encodes an id into a key part that contains only `[A-Za-z0-9_.~%-]`. The encoding is
 * injective (distinct ids never share a key part), reversible with {@link decodeKeyPart}, and the
 * result is inert inside SCAN MATCH patterns and hash tags. Plain ids such as UUIDs pass unchanged.
 */
export function encodeKeyPart(id: string): string {
  if (typeof id !== 'string') throw new TidyKvKeyError(`An id must be a string, received ${describe(id)}.`);
  if (id.length === 0) throw new TidyKvKeyError('An id must not be empty.');
  if (id.length > MAX_ID_LENGTH) {
    throw new TidyKvKeyError(`An id must be at most ${MAX_ID_LENGTH} characters, received ${id.length}.`);
  }
  if (SAFE.test(id)) return id;
  if (LONE_SURROGATE.test(id)) {
    // UTF-8 has no encoding for a lone surrogate: it would become U+FFFD, and two ids would share a key.
    throw new TidyKvKeyError('An id must be well-formed Unicode: it contains a lone surrogate (half of an emoji or another astral character, often from slicing a string).');
  }
  return id.replace(UNSAFE_CHAR, (ch) => {
    let out = '';
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    return out;
  });
}

/** Reverses {@link encodeKeyPart}. */
export function decodeKeyPart(part: string): string {
  return part.includes('%') ? decodeURIComponent(part) : part;
}

/** Escapes a literal for SCAN MATCH so that `*`, `?`, `[`, `]` and `\` match themselves. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

const PREFIX = /^[A-Za-z0-9_.:-]*$/;

/**
 * Validates a key prefix chosen by the app: letters, digits and `_ . : -` only, so that a prefix can
 * never open a hash tag or act as a glob. Throws {@link TidyKvConfigError} naming `option`.
 */
export function validateKeyPrefix(prefix: unknown, option: string): string {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix) || prefix.length > 64) {
    throw TidyKvConfigError.invalid(
      option,
      prefix,
      'a string of at most 64 characters from [A-Za-z0-9_.:-]',
      'Pick a prefix such as "myapp:"; braces and glob characters would break hash tags and SCAN patterns.',
    );
  }
  return prefix;
}

/**
 * Builds keys under one prefix. Every id goes through {@link encodeKeyPart}; the part in braces
 * is the hash tag, so every key built from the same tag lands in the same cluster slot and one
 * Lua script may touch them all.
 */
export class KeyBuilder {
  /**
   * @param prefix - validated with {@link validateKeyPrefix}; `option` names it in errors.
   */
  constructor(
    readonly prefix: string,
    option = 'keyPrefix',
  ) {
    validateKeyPrefix(prefix, option);
  }

  /** `<prefix><space>:{<encoded tag>}` followed by `:<suffix>` when given. `suffix` must be a fixed literal, not user input. */
  tagged(space: string, tagId: string, suffix?: string): string {
    const base = `${this.prefix}${space}:{${encodeKeyPart(tagId)}}`;
    return suffix === undefined ? base : `${base}:${suffix}`;
  }

  /** `<prefix><space>:<encoded id>` with no hash tag (a key no script shares with another). */
  plain(space: string, id: string): string {
    return `${this.prefix}${space}:${encodeKeyPart(id)}`;
  }

  /** A SCAN MATCH pattern for every key of `space` under this prefix. */
  pattern(space: string): string {
    return `${escapeGlob(this.prefix)}${escapeGlob(space)}:*`;
  }
}
