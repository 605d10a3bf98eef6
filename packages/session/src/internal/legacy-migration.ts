import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { LRUCache } from 'lru-cache';
import { keySlot, type RunOptions, type TidyKvLogger } from '@tidykv/core';
import { mapSessionReply } from '../session.errors.js';
import type { ResolvedLegacyOptions } from '../session-legacy.options.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import { readCookie } from './cookie-transport.js';
import type { RedisSessionRepository } from './redis-session.repository.js';
import { flatPairs, RESERVED_PREFIX, toStoredSession } from './session-hash.mapper.js';
import { ID_LENGTH, isSessionId, principalTag, TAG_LENGTH } from './session-id.js';
import type { LoadResult } from './session-repository.js';
import { migrateLegacySession } from './session-scripts.js';

// Migration of express-session + connect-redis sessions (SessionModule `legacy`). A request with no
// tidykv id but a validly signed express-session cookie costs, on that request only:
//   1. MGET of the legacy key and its migration marker (one command, one slot);
//   2. client side: JSON.parse, each attribute re-encoded with the session codec and checked to
//      decode back equal; then the migrateLegacySession script, which creates the session only if
//      the legacy value is still exactly what was read (see its header).
// A marker already there (a migration happened) replaces step 2 with a plain load of the session it
// names. Forged, unsigned or malformed cookies are refused before any of this: no Redis call.

const READ: RunOptions = {};
// Both writes are safe to re-send: the script joins the session it created, UNLINK + GET repeat.
const IDEMPOTENT_WRITE: RunOptions = { write: true, idempotent: true };

/** Characters of a base64 HMAC-SHA256 without its padding, as the `cookie-signature` package writes it. */
const LEGACY_SIGNATURE_LENGTH = 43;
/** Longest session id accepted in a legacy cookie (express-session's own are 32 characters). */
const MAX_LEGACY_SID_LENGTH = 256;
const LEGACY_SID = /^[\x21-\x7e]+$/;
/**
 * Shortest life of a migration marker, ms: requests the browser sent before it received the new
 * cookie carry the legacy cookie only, and join the migrated session through the marker.
 */
const MARKER_MIN_MS = 5_000;
/** Reads and compare-and-swaps tried when old servers keep re-writing the legacy value meanwhile. */
const ATTEMPTS = 3;

/**
 * The session id inside an express-session cookie value (`s:<sid>.<signature>`, already
 * URI-decoded), or undefined when it is unsigned, malformed or signed by none of `secrets`. The
 * signature is base64 HMAC-SHA256 of the sid without `=` padding (the `cookie-signature` package);
 * every secret is compared, each in constant time. No Redis call.
 */
export function unsignLegacyCookie(value: unknown, secrets: readonly string[]): string | undefined {
  if (typeof value !== 'string' || !value.startsWith('s:') || value.length > 2 + MAX_LEGACY_SID_LENGTH + 1 + LEGACY_SIGNATURE_LENGTH) return undefined;
  const dot = value.lastIndexOf('.');
  if (dot < 3 || value.length - dot - 1 !== LEGACY_SIGNATURE_LENGTH) return undefined;
  const sid = value.slice(2, dot);
  if (!LEGACY_SID.test(sid)) return undefined;
  const given = Buffer.from(value.slice(dot + 1));
  let valid = false;
  for (const secret of secrets) {
    const expected = Buffer.from(createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, ''));
    if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true;
  }
  return valid ? sid : undefined;
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SLOTS = 16_384;
let slotTags: Int32Array | undefined;

/**
 * A session hash tag (four base64url characters) whose keys land in cluster slot `slot`: a
 * migrated session without a principal is created in its legacy key's slot, so one script can
 * write both on Redis Cluster.
 */
export function tagForSlot(slot: number): string {
  slotTags ??= buildSlotTags();
  const n = slotTags[slot];
  const tag = BASE64URL[n & 63] + BASE64URL[(n >> 6) & 63] + BASE64URL[(n >> 12) & 63] + BASE64URL[(n >> 18) & 63];
  // The table is computed, not trusted: the slot ioredis routes by must agree.
  if (keySlot(tag) !== slot) throw new Error(`tidykv: no hash tag found for cluster slot ${slot} (computed ${tag}).`);
  return tag;
}

function buildSlotTags(): Int32Array {
  // CRC16 (XMODEM, which Redis Cluster hashes with) is linear over GF(2) for messages of one
  // length, and so is its 14-bit slot: a four-character tag's slot is the XOR of the slots of its
  // characters, each alone in its position with NUL elsewhere. 256 slot computations (by the same
  // library ioredis routes with) instead of ~90,000, about a millisecond once per process.
  const nul = '\u0000';
  const basis = [0, 1, 2, 3].map((pos) => Int32Array.from(BASE64URL, (ch) => keySlot(nul.repeat(pos) + ch + nul.repeat(3 - pos))));
  const table = new Int32Array(SLOTS).fill(-1);
  let left = SLOTS;
  for (let n = 0; n < 64 ** 4 && left > 0; n++) {
    const slot = basis[0][n & 63] ^ basis[1][(n >> 6) & 63] ^ basis[2][(n >> 12) & 63] ^ basis[3][(n >> 18) & 63];
    if (table[slot] === -1) {
      table[slot] = n;
      left--;
    }
  }
  return table;
}

/** A legacy session decoded and re-encoded for tidykv. */
interface DecodedLegacySession {
  /** Attribute -> value encoded with the session codec (express-session's `cookie` left out). */
  readonly attributes: ReadonlyMap<string, string>;
  /** The stored principal, when the principal index is on and the session has one. */
  readonly principal: string | undefined;
  /** When the legacy cookie expires, epoch ms (0 = not recorded). */
  readonly expiresAt: number;
  /** `cookie.expires - cookie.originalMaxAge`, epoch ms: when express-session last saved the session (0 = unknown). */
  readonly createdAt: number;
}

/** The expiry and the start time express-session recorded in the session's `cookie`, when it did. */
function legacyTimes(cookie: unknown): { expiresAt: number; createdAt: number } {
  if (cookie === null || typeof cookie !== 'object') return { expiresAt: 0, createdAt: 0 };
  const c = cookie as { expires?: unknown; originalMaxAge?: unknown };
  const expires = typeof c.expires === 'string' ? Date.parse(c.expires) : Number.NaN;
  if (!Number.isFinite(expires)) return { expiresAt: 0, createdAt: 0 };
  const maxAge = c.originalMaxAge;
  const createdAt = typeof maxAge === 'number' && Number.isFinite(maxAge) && maxAge > 0 ? Math.max(0, Math.floor(expires - maxAge)) : 0;
  // 0 means "none recorded" to the script; an expiry at or before the epoch is simply past.
  return { expiresAt: Math.max(1, Math.floor(expires)), createdAt };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Takes over express-session + connect-redis sessions: finds the legacy session a request's
 * cookie names, migrates it atomically (or joins the migration a concurrent request made), and
 * ends it at logout. One per SessionModule with the `legacy` option.
 */
export class LegacySessionMigrator {
  /** Legacy keys already warned about, so that a client retrying a refused session does not flood the log. */
  private readonly warned = new LRUCache<string, true>({ max: 10_000 });

  constructor(
    private readonly legacy: ResolvedLegacyOptions,
    private readonly options: ResolvedSessionOptions,
    private readonly repository: RedisSessionRepository,
    private readonly logger: TidyKvLogger,
  ) {}

  /** The session id of a validly signed express-session cookie in a Cookie header, or undefined. No Redis call. */
  sidOf(header: string | string[] | undefined): string | undefined {
    if (header === undefined) return undefined;
    // Most requests without a tidykv cookie carry no legacy one either: skip parsing their header.
    if (!(Array.isArray(header) ? header.some((h) => h.includes(this.legacy.cookieName)) : header.includes(this.legacy.cookieName))) return undefined;
    return unsignLegacyCookie(readCookie(header, this.legacy.cookieName), this.legacy.secrets);
  }

  /** Where legacy session `sid` lives, and its migration marker (same cluster slot). */
  private where(sid: string): { legacyKey: string; marker: string; slotTag: string } {
    const legacyKey = this.legacy.prefix + sid;
    const slotTag = tagForSlot(keySlot(legacyKey));
    const digest = createHash('sha256').update(legacyKey).digest('base64url').slice(0, 22);
    return { legacyKey, marker: this.repository.keys.legacyMarker(slotTag, digest), slotTag };
  }

  /**
   * The tidykv session legacy session `sid` is, migrating it now if nobody has; undefined when
   * there is none (expired, logged out, never existed) or it was refused (a warning is logged).
   * `onCommand` is called before each round trip (the commands-per-request metric).
   */
  async load(sid: string, onCommand: () => void = () => undefined): Promise<LoadResult | undefined> {
    const { legacyKey, marker, slotTag } = this.where(sid);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      onCommand();
      const [value, migratedTo] = await this.repository.run('session legacy read', (c) => c.mget(legacyKey, marker), READ);
      if (migratedTo !== null) {
        if (!isSessionId(migratedTo)) return undefined;
        onCommand();
        return this.repository.load(migratedTo);
      }
      if (value === null) return undefined;
      const decoded = this.decode(legacyKey, value);
      if (decoded === undefined) return undefined;
      onCommand();
      const result = await this.migrate(legacyKey, marker, slotTag, value, decoded, onCommand);
      if (result !== 'stale') return result;
    }
    // An old server re-wrote the legacy session between every read and swap: no session this time;
    // nothing was written, so the next request simply tries again.
    return undefined;
  }

  /**
   * Logout of a request that carried only the legacy cookie: deletes the legacy session and
   * returns the id of the tidykv session it was migrated to, if any, for the caller to destroy.
   * UNLINK runs before GET on one connection, so a migration either ran before the UNLINK (its
   * marker is read) or after it (it found nothing to migrate).
   */
  async retire(sid: string): Promise<string | undefined> {
    const { legacyKey, marker } = this.where(sid);
    const replies = await this.repository.run('session legacy logout', async (c) => (await c.pipeline().unlink(legacyKey).get(marker).exec()) ?? [], IDEMPOTENT_WRITE);
    for (const [err] of replies) if (err) throw err;
    const id = replies[1]?.[1];
    return typeof id === 'string' && isSessionId(id) ? id : undefined;
  }

  /** The id a legacy key becomes: derived with the server's secret, so concurrent migrations agree on it. */
  private idFor(legacyKey: string, tag: string): string {
    const secret = createHmac('sha256', this.options.secrets[0]).update(`tidykv legacy migration\u0000${legacyKey}`).digest('base64url');
    return tag + secret.slice(0, ID_LENGTH - TAG_LENGTH);
  }

  private async migrate(legacyKey: string, marker: string, slotTag: string, legacyValue: string, d: DecodedLegacySession, onCommand: () => void): Promise<LoadResult | undefined | 'stale'> {
    const keys = this.repository.keys;
    // A principal's sessions live in its slot (standalone and Sentinel only, see the options); the others in the legacy key's.
    const tag = d.principal !== undefined ? principalTag(d.principal) : slotTag;
    const id = this.idFor(legacyKey, tag);
    const reply = await this.repository.run(
      'session legacy migrate',
      (c) => {
        migrateLegacySession.attach(c);
        return migrateLegacySession.run(c, {
          legacyKey,
          key: keys.session(id),
          index: keys.principalIndex(tag),
          marker,
          legacyValue,
          id,
          timeouts: { idleMs: this.options.idleTimeoutMs, absoluteMs: this.options.absoluteTimeoutMs },
          createdAt: d.createdAt,
          indexMember: d.principal === undefined ? '' : keys.principalMember(id, d.principal),
          legacyExpiresAt: d.expiresAt,
          markerMinMs: Math.min(MARKER_MIN_MS, this.options.idleTimeoutMs),
          attributes: d.attributes,
        });
      },
      IDEMPOTENT_WRITE,
    );
    const outcome = mapSessionReply('migrateLegacySession', reply);
    if (outcome === 'stale') return 'stale';
    if (outcome !== 'ok') return undefined;
    const r = reply as unknown[];
    switch (Number(r[0])) {
      case 1: {
        const [ttl, createdAt, now] = [Number(r[1]), Number(r[2]), Number(r[3])];
        this.repository.schedule.touched(id, this.repository.schedule.intervalFor(undefined));
        return { session: { id, attributes: d.attributes, createdAt, lastAccessedAt: now, idleTimeoutMs: undefined }, touchedTtlMs: ttl };
      }
      case 2:
        return { session: toStoredSession(id, flatPairs(r, 1)), touchedTtlMs: undefined };
      default: {
        // A concurrent request migrated another version of the value (an old server wrote it in
        // between), under another principal: load the session it made.
        const other = String(r[1]);
        if (!isSessionId(other)) return undefined;
        onCommand();
        return this.repository.load(other);
      }
    }
  }

  /** Parses and re-encodes a legacy value, or logs why it cannot become a tidykv session and returns undefined. */
  private decode(legacyKey: string, raw: string): DecodedLegacySession | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      return this.refuse(legacyKey, `it is not JSON (${message(err)})`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return this.refuse(legacyKey, 'it is not a JSON object');
    const { codec, principal } = this.options;
    const attributes = new Map<string, string>();
    for (const [name, value] of Object.entries(parsed)) {
      // express-session's own cookie settings: tidykv has its own.
      if (name === 'cookie') continue;
      if (name === '' || name.startsWith(RESERVED_PREFIX) || name === '__proto__') {
        return this.refuse(legacyKey, `its attribute name ${JSON.stringify(name)} cannot be a tidykv attribute (empty names, "${RESERVED_PREFIX}..." and "__proto__" are refused)`);
      }
      let encoded: string;
      try {
        encoded = codec.encode(value);
        if (!isDeepStrictEqual(codec.decode(encoded), value)) throw new Error('it does not decode back equal');
      } catch (err) {
        return this.refuse(legacyKey, `attribute "${name}" cannot be stored with the ${codec.name} codec: ${message(err)}`);
      }
      attributes.set(name, encoded);
    }
    const times = legacyTimes((parsed as { cookie?: unknown }).cookie);
    return { attributes, principal: principal === undefined ? undefined : attributes.get(principal), ...times };
  }

  private refuse(legacyKey: string, why: string): undefined {
    if (!this.warned.has(legacyKey)) {
      this.warned.set(legacyKey, true);
      this.logger.warn(
        `Legacy session "${legacyKey}" was not migrated because ${why}; the request has no session and nothing was written. ` +
          `Fix or delete the key (\`tidykv-audit scan --match '${this.legacy.prefix}*'\` lists the legacy keys); this is logged once per key.`,
      );
    }
    return undefined;
  }
}
