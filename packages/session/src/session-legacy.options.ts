import { TidyKvConfigError, type RedisConnectionOptions } from '@tidykv/core';

/** Where express-session + connect-redis keep the sessions to migrate, and how their cookie is signed. */
export interface ConnectRedisLegacyOptions {
  /** connect-redis's `prefix`: legacy sessions are the JSON strings at `<prefix><sid>`. Default: `'sess:'`. */
  prefix?: string;
  /** express-session's `name`: the cookie carrying `s:<sid>.<signature>`. Default: `'connect.sid'`. */
  cookieName?: string;
  /**
   * express-session's `secret` (one string, or every secret of a rotation, as express-session takes
   * them): a legacy cookie is accepted when its HMAC-SHA256 signature verifies against one of them.
   * Required.
   */
  secrets: readonly string[];
}

/**
 * Sessions of another library that tidykv takes over, so that switching to tidykv logs nobody
 * out: a request that carries no tidykv session but a valid cookie of the old library gets its
 * old session migrated into a tidykv one (data, principal and creation time), once, atomically.
 */
export interface SessionLegacyOptions {
  /** express-session with connect-redis (any version storing JSON strings, e.g. 6, 7 and 8). Required. */
  connectRedis: ConnectRedisLegacyOptions;
}

/** Defaults of {@link ConnectRedisLegacyOptions}: those of connect-redis and express-session. */
export const DEFAULT_LEGACY_OPTIONS = Object.freeze({ prefix: 'sess:', cookieName: 'connect.sid' });

/** The `legacy` option with its defaults applied. */
export interface ResolvedLegacyOptions {
  readonly prefix: string;
  readonly cookieName: string;
  readonly secrets: readonly string[];
}

const P = 'SessionModule.legacy';
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Any printable text: connect-redis accepts any prefix; control characters and spaces are typos.
const PREFIX = /^[\x21-\x7e]{0,256}$/;

function isCluster(connection: RedisConnectionOptions): boolean {
  if (connection === null || typeof connection !== 'object') return false;
  if ('cluster' in connection) return true;
  return 'client' in connection && (connection.client as { isCluster?: unknown } | undefined)?.isCluster === true;
}

/**
 * Checks the `legacy` option at start-up; `principal` and `connection` are the module's, because
 * a migration must be one atomic script, which Redis Cluster allows only within one slot.
 */
export function validateLegacyOptions(legacy: unknown, context: { connection: RedisConnectionOptions; principal?: string }): void {
  if (legacy === undefined) return;
  if (legacy === null || typeof legacy !== 'object') {
    throw TidyKvConfigError.invalid(P, legacy, "an object such as { connectRedis: { secrets: ['<express-session secret>'] } }", 'Leave it unset when there is nothing to migrate.');
  }
  const cr = (legacy as Partial<SessionLegacyOptions>).connectRedis as unknown;
  if (cr === null || typeof cr !== 'object') {
    throw TidyKvConfigError.invalid(`${P}.connectRedis`, cr, '{ prefix, cookieName, secrets } of the express-session + connect-redis app');
  }
  const o = cr as Partial<ConnectRedisLegacyOptions>;
  const s = o.secrets as unknown;
  if (!Array.isArray(s) || s.length === 0 || s.some((x) => typeof x !== 'string' || x === '')) {
    throw TidyKvConfigError.invalid(`${P}.connectRedis.secrets`, s, 'a non-empty array of non-empty strings', "Pass express-session's `secret` exactly as the old app does (all of them, if it rotates).");
  }
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || !PREFIX.test(o.prefix))) {
    throw TidyKvConfigError.invalid(`${P}.connectRedis.prefix`, o.prefix, 'the `prefix` given to connect-redis (printable characters, at most 256)', 'Omit it for connect-redis\'s default "sess:".');
  }
  if (o.cookieName !== undefined && (typeof o.cookieName !== 'string' || !COOKIE_NAME.test(o.cookieName))) {
    throw TidyKvConfigError.invalid(`${P}.connectRedis.cookieName`, o.cookieName, "express-session's cookie `name` (an RFC 6265 token)", 'Omit it for express-session\'s default "connect.sid".');
  }
  if (context.principal !== undefined && isCluster(context.connection)) {
    throw TidyKvConfigError.invalid(
      P,
      legacy,
      'no legacy migration on Redis Cluster while the principal index is on',
      "On Cluster a migration is atomic only within one slot: a session with a principal lives in its principal's slot, the legacy key in another. " +
        'Migrate with `principal` unset (sessions then stay in their legacy key\'s slot), or migrate on a standalone or Sentinel Redis.',
    );
  }
}

/** Applies the defaults to a `legacy` option that {@link validateLegacyOptions} accepted. */
export function resolveLegacyOptions(legacy: SessionLegacyOptions | undefined): ResolvedLegacyOptions | undefined {
  if (legacy === undefined) return undefined;
  const o = legacy.connectRedis;
  return Object.freeze({
    prefix: o.prefix ?? DEFAULT_LEGACY_OPTIONS.prefix,
    cookieName: o.cookieName ?? DEFAULT_LEGACY_OPTIONS.cookieName,
    secrets: Object.freeze([...o.secrets]),
  });
}
