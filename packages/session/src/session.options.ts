import { TidyKvConfigError, jsonCodec, validateCodec, validateConnectionOptions, validateKeyPrefix, type Codec, type RedisConnectionOptions } from '@tidykv/core';
import { cookieAttributeProblem, type ResolvedCookieOptions } from './internal/cookie-transport.js';
import { resolveLegacyOptions, validateLegacyOptions, type ResolvedLegacyOptions, type SessionLegacyOptions } from './session-legacy.options.js';

/**
 * When attributes are written back, as in Spring Session:
 * - `on-set`: only attributes passed to `set` or `delete`;
 * - `on-get`: also every attribute read with `get`, for objects the app mutates in place;
 * - `always`: every attribute of the session on every request that loads it.
 */
export type SessionSaveMode = 'on-set' | 'on-get' | 'always';

/**
 * When writes reach Redis: `on-save` once at the end of the request (before the response is sent),
 * `immediate` as soon as `set`/`delete` is called (and again at the end if anything is left).
 */
export type SessionFlushMode = 'on-save' | 'immediate';

/** The session cookie. */
export interface SessionCookieOptions {
  /** Cookie name. A name starting with `__Host-` requires `secure: true`, `path: '/'` and no `domain`. Default: `'sid'`. */
  name?: string;
  /**
   * Send the cookie over HTTPS only. Turn on in production. As in express-session, a Secure cookie
   * is not set on a request that did not arrive over HTTPS (see `SessionModuleOptions.proxy`), and
   * a session that would need it is then neither created nor moved (one warning is logged).
   * Default: `false`.
   */
  secure?: boolean;
  /** SameSite attribute. Default: `'lax'`. */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Hide the cookie from page scripts. Default: `true`. */
  httpOnly?: boolean;
  /** Cookie path. Requests outside it get no session (as in express-session). Default: `'/'`. */
  path?: string;
  /** Cookie domain, validated at start-up. Default: none (host-only cookie). */
  domain?: string;
  /**
   * Max-Age of the cookie in ms, making it persistent. The cookie is sent again with a new
   * Max-Age and Expires whenever the session's expiry moves (a touch, at most once per
   * `touchIntervalMs`), so an active user's cookie keeps sliding with the server-side session.
   * Default: none (a browser-session cookie; the server-side TTL governs expiry).
   */
  maxAgeMs?: number;
}

/** The in-process near-cache of loaded sessions. */
export interface SessionNearCacheOptions {
  /** Maximum number of sessions kept. Default: `10000`. */
  max?: number;
  /**
   * Longest time a cached session is served without asking Redis, in ms: a bound on staleness
   * should an invalidation message be lost. Default: `5000`.
   */
  maxStalenessMs?: number;
}

/** Options of {@link SessionModule}. */
export interface SessionModuleOptions {
  /** Where Redis is: `{ url }`, `{ host, port }`, `{ sentinels, name }`, `{ cluster }` or `{ client }`. Required. */
  connection: RedisConnectionOptions;
  /**
   * Secrets that sign session ids with HMAC-SHA256, newest first: ids are signed with the first and
   * accepted with any, so a secret can be rotated without logging anyone out. Each at least 32
   * characters. Required.
   */
  secrets: readonly string[];
  /** Prefix of every key. Default: `'tkv:'`. */
  keyPrefix?: string;
  /** Idle timeout: a session not used for this long expires, in ms. Default: `1800000` (30 min). */
  idleTimeoutMs?: number;
  /** Absolute timeout: the longest a session lives whatever its activity, in ms; `0` turns it off. Default: `86400000` (24 h). */
  absoluteTimeoutMs?: number;
  /**
   * lastAccessedAt and the TTL are re-armed at most once per this interval, in ms. Must be below
   * `idleTimeoutMs`. Default: `60000`, or a quarter of `idleTimeoutMs` when that is shorter.
   */
  touchIntervalMs?: number;
  /** See {@link SessionSaveMode}. Default: `'on-set'`. */
  saveMode?: SessionSaveMode;
  /** See {@link SessionFlushMode}. Default: `'on-save'`. */
  flushMode?: SessionFlushMode;
  /** How the session id travels: a signed cookie, or a signed header for mobile and API clients. Default: `'cookie'`. */
  transport?: 'cookie' | 'header';
  /** Cookie settings, used when `transport` is `'cookie'`. Default: see {@link SessionCookieOptions}. */
  cookie?: SessionCookieOptions;
  /** Request and response header carrying the signed id when `transport` is `'header'`. Default: `'x-session-id'`. */
  headerName?: string;
  /**
   * Name of the attribute holding the principal (e.g. `'userId'`). Turns on the principal index:
   * listing and invalidating a principal's sessions. Default: none (no index).
   */
  principal?: string;
  /**
   * Attributes whose writes alone do not justify a Redis write (e.g. a "last page seen"): they are
   * buffered in process and flushed with the next regular write, or once `touchIntervalMs` has
   * passed. A process crash may lose them. Default: `[]`.
   */
  lazyAttributes?: readonly string[];
  /**
   * In-process cache of loaded sessions, invalidated across instances through Redis client tracking.
   * Standalone and Sentinel only. `true` uses the default sizes. Default: `false`.
   */
  nearCache?: boolean | SessionNearCacheOptions;
  /** Encodes attribute values. Default: `jsonCodec` from @tidykv/core. */
  codec?: Codec;
  /**
   * Run each request inside AsyncLocalStorage so that `SessionAccessor` works in guards, services
   * and interceptors. On Node 20 AsyncLocalStorage taxes every promise of the process (a few
   * percent of throughput in the bench): apps that read the session only through `@Session()` may
   * turn it off. `'auto'` is accepted for compatibility and means `true` (tidykv no longer guesses
   * from Nest's internals whether `SessionAccessor` is injected). Default: `true`.
   */
  asyncContext?: boolean | 'auto';
  /**
   * Whether to trust a reverse proxy's `X-Forwarded-Proto` when deciding that a request arrived
   * over HTTPS (for Secure cookies), as express-session's `proxy` option: `true` trusts it, `false`
   * only counts TLS on the socket. Default: none, which follows Express's `trust proxy` setting
   * (`req.secure`); on Fastify set `true` behind a TLS-terminating proxy.
   */
  proxy?: boolean;
  /**
   * Take over the sessions of express-session + connect-redis without logging anyone out: a request
   * with no tidykv session but a validly signed express-session cookie has its legacy session
   * migrated (one extra round trip, on that request only). Remove it once the legacy sessions'
   * TTLs have passed. See {@link SessionLegacyOptions}. Default: none (no migration).
   */
  legacy?: SessionLegacyOptions;
}

/** Defaults of {@link SessionModuleOptions}. */
export const DEFAULT_SESSION_OPTIONS = Object.freeze({
  keyPrefix: 'tkv:',
  idleTimeoutMs: 1_800_000,
  absoluteTimeoutMs: 86_400_000,
  touchIntervalMs: 60_000,
  saveMode: 'on-set',
  flushMode: 'on-save',
  transport: 'cookie',
  headerName: 'x-session-id',
  lazyAttributes: Object.freeze([]),
  cookie: Object.freeze({ name: 'sid', secure: false, sameSite: 'lax' as const, httpOnly: true, path: '/' }),
  nearCache: Object.freeze({ max: 10_000, maxStalenessMs: 5_000 }),
  asyncContext: true,
});

const P = 'SessionModule';

function positiveMs(name: string, v: unknown, allowZero = false): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (v === 0 && !allowZero)) {
    throw TidyKvConfigError.invalid(`${P}.${name}`, v, allowZero ? 'a non-negative integer number of ms' : 'a positive integer number of ms');
  }
}

/**
 * Checks every option at start-up and throws {@link TidyKvConfigError} naming the option, the
 * value received, what was expected and how to fix it.
 */
export function validateSessionOptions(options: SessionModuleOptions): SessionModuleOptions {
  if (options === null || typeof options !== 'object') {
    throw TidyKvConfigError.invalid(P, options, 'an options object', 'Pass SessionModule.forRoot({ connection, secrets }).');
  }
  validateConnectionOptions(options.connection, `${P}.connection`);
  const s = options.secrets as unknown;
  if (!Array.isArray(s) || s.length === 0 || s.some((x) => typeof x !== 'string' || x.length < 32)) {
    throw TidyKvConfigError.invalid(`${P}.secrets`, s, 'a non-empty array of strings of at least 32 characters', 'Generate one with `openssl rand -base64 32`; put the newest first.');
  }
  if (options.keyPrefix !== undefined) validateKeyPrefix(options.keyPrefix, `${P}.keyPrefix`);
  positiveMs('idleTimeoutMs', options.idleTimeoutMs);
  positiveMs('absoluteTimeoutMs', options.absoluteTimeoutMs, true);
  positiveMs('touchIntervalMs', options.touchIntervalMs, true);
  const idle = options.idleTimeoutMs ?? DEFAULT_SESSION_OPTIONS.idleTimeoutMs;
  if (options.touchIntervalMs !== undefined && options.touchIntervalMs >= idle) {
    throw TidyKvConfigError.invalid(`${P}.touchIntervalMs`, options.touchIntervalMs, `less than idleTimeoutMs (${idle})`, 'A session must be touched before it idles out; a tenth of the idle timeout is typical.');
  }
  if (options.saveMode !== undefined && !['on-set', 'on-get', 'always'].includes(options.saveMode)) {
    throw TidyKvConfigError.invalid(`${P}.saveMode`, options.saveMode, "'on-set', 'on-get' or 'always'");
  }
  if (options.flushMode !== undefined && !['on-save', 'immediate'].includes(options.flushMode)) {
    throw TidyKvConfigError.invalid(`${P}.flushMode`, options.flushMode, "'on-save' or 'immediate'");
  }
  if (options.transport !== undefined && !['cookie', 'header'].includes(options.transport)) {
    throw TidyKvConfigError.invalid(`${P}.transport`, options.transport, "'cookie' or 'header'");
  }
  if (options.headerName !== undefined && (typeof options.headerName !== 'string' || !/^[A-Za-z0-9-]+$/.test(options.headerName))) {
    throw TidyKvConfigError.invalid(`${P}.headerName`, options.headerName, 'an HTTP header name such as "x-session-id"');
  }
  validateCookie(options.cookie);
  if (options.principal !== undefined && (typeof options.principal !== 'string' || options.principal === '' || options.principal.startsWith('#'))) {
    throw TidyKvConfigError.invalid(`${P}.principal`, options.principal, 'the name of an attribute, e.g. "userId" (not starting with "#")');
  }
  const lazy = options.lazyAttributes as unknown;
  if (lazy !== undefined && (!Array.isArray(lazy) || lazy.some((x) => typeof x !== 'string' || x === '' || x.startsWith('#')))) {
    throw TidyKvConfigError.invalid(`${P}.lazyAttributes`, lazy, 'an array of attribute names');
  }
  if (options.principal !== undefined && Array.isArray(lazy) && lazy.includes(options.principal)) {
    throw TidyKvConfigError.invalid(`${P}.lazyAttributes`, lazy, `not to include the principal attribute "${options.principal}"`, 'The principal index must be written with the attribute.');
  }
  const nc = options.nearCache as unknown;
  if (nc !== undefined && typeof nc !== 'boolean') {
    if (nc === null || typeof nc !== 'object') throw TidyKvConfigError.invalid(`${P}.nearCache`, nc, 'true, false or { max, maxStalenessMs }');
    const o = nc as SessionNearCacheOptions;
    if (o.max !== undefined && (!Number.isInteger(o.max) || o.max < 1)) throw TidyKvConfigError.invalid(`${P}.nearCache.max`, o.max, 'a positive integer');
    positiveMs('nearCache.maxStalenessMs', o.maxStalenessMs);
  }
  if (nc && 'cluster' in options.connection) {
    throw TidyKvConfigError.invalid(`${P}.nearCache`, nc, 'false on Redis Cluster', 'Client tracking is per node on Cluster and not supported yet; use the near-cache with standalone or Sentinel Redis.');
  }
  if (options.codec !== undefined) validateCodec(options.codec, `${P}.codec`);
  if (options.asyncContext !== undefined && typeof options.asyncContext !== 'boolean' && options.asyncContext !== 'auto') {
    throw TidyKvConfigError.invalid(`${P}.asyncContext`, options.asyncContext, 'true or false');
  }
  if (options.proxy !== undefined && typeof options.proxy !== 'boolean') {
    throw TidyKvConfigError.invalid(`${P}.proxy`, options.proxy, 'true, false or nothing', 'Leave it unset to follow Express `trust proxy`.');
  }
  validateLegacyOptions(options.legacy, options);
  return options;
}

function validateCookie(c: SessionCookieOptions | undefined): void {
  if (c === undefined) return;
  if (c === null || typeof c !== 'object') throw TidyKvConfigError.invalid(`${P}.cookie`, c, 'an object');
  if (c.name !== undefined && (typeof c.name !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(c.name))) {
    throw TidyKvConfigError.invalid(`${P}.cookie.name`, c.name, 'a cookie name (RFC 6265 token)');
  }
  if (c.sameSite !== undefined && !['lax', 'strict', 'none'].includes(c.sameSite)) {
    throw TidyKvConfigError.invalid(`${P}.cookie.sameSite`, c.sameSite, "'lax', 'strict' or 'none'");
  }
  if (c.sameSite === 'none' && c.secure !== true) {
    throw TidyKvConfigError.invalid(`${P}.cookie.secure`, c.secure, 'true when sameSite is "none"', 'Browsers drop SameSite=None cookies that are not Secure.');
  }
  if (c.maxAgeMs !== undefined) positiveMs('cookie.maxAgeMs', c.maxAgeMs);
  if (c.path !== undefined && (typeof c.path !== 'string' || !c.path.startsWith('/'))) throw TidyKvConfigError.invalid(`${P}.cookie.path`, c.path, 'a path starting with "/"');
  if (c.domain !== undefined && (typeof c.domain !== 'string' || c.domain === '')) throw TidyKvConfigError.invalid(`${P}.cookie.domain`, c.domain, 'a domain name such as "example.com"');
  const problem = cookieAttributeProblem({ name: c.name ?? 'sid', path: c.path ?? '/', domain: c.domain });
  if (problem !== undefined) {
    const option = c.domain !== undefined && /domain/i.test(problem) ? 'domain' : 'path';
    throw TidyKvConfigError.invalid(`${P}.cookie.${option}`, c[option], 'a value without ";", spaces or control characters', `The cookie package refused it (${problem}); such a value would inject cookie attributes.`);
  }
  if (c.name?.startsWith('__Host-')) {
    if (c.secure !== true) throw TidyKvConfigError.invalid(`${P}.cookie.secure`, c.secure, 'true for a __Host- cookie', 'Browsers reject __Host- cookies without Secure.');
    if (c.domain !== undefined) throw TidyKvConfigError.invalid(`${P}.cookie.domain`, c.domain, 'no domain for a __Host- cookie');
    if ((c.path ?? '/') !== '/') throw TidyKvConfigError.invalid(`${P}.cookie.path`, c.path, '"/" for a __Host- cookie');
  }
  if (c.name?.startsWith('__Secure-') && c.secure !== true) {
    throw TidyKvConfigError.invalid(`${P}.cookie.secure`, c.secure, 'true for a __Secure- cookie');
  }
}

/** Every option with its default applied. */
export interface ResolvedSessionOptions {
  readonly connection: RedisConnectionOptions;
  readonly secrets: readonly string[];
  readonly keyPrefix: string;
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly touchIntervalMs: number;
  readonly saveMode: SessionSaveMode;
  readonly flushMode: SessionFlushMode;
  readonly transport: 'cookie' | 'header';
  readonly cookie: ResolvedCookieOptions;
  readonly headerName: string;
  readonly principal: string | undefined;
  readonly lazyAttributes: ReadonlySet<string>;
  readonly nearCache: Required<SessionNearCacheOptions> | undefined;
  readonly codec: Codec;
  /** Whether requests run inside AsyncLocalStorage. */
  readonly asyncContext: boolean;
  readonly proxy: boolean | undefined;
  /** The `legacy` option with its defaults, or undefined when nothing is migrated. */
  readonly legacy?: ResolvedLegacyOptions;
}

/** Validates `options` and merges the defaults (with `??`, so `0` stays `0`). */
export function resolveSessionOptions(options: SessionModuleOptions): ResolvedSessionOptions {
  validateSessionOptions(options);
  const d = DEFAULT_SESSION_OPTIONS;
  const idle = options.idleTimeoutMs ?? d.idleTimeoutMs;
  const c = options.cookie ?? {};
  const nc = options.nearCache;
  return Object.freeze({
    connection: options.connection,
    secrets: Object.freeze([...options.secrets]),
    keyPrefix: options.keyPrefix ?? d.keyPrefix,
    idleTimeoutMs: idle,
    absoluteTimeoutMs: options.absoluteTimeoutMs ?? d.absoluteTimeoutMs,
    touchIntervalMs: options.touchIntervalMs ?? Math.min(d.touchIntervalMs, Math.floor(idle / 4)),
    saveMode: options.saveMode ?? d.saveMode,
    flushMode: options.flushMode ?? d.flushMode,
    transport: options.transport ?? d.transport,
    cookie: Object.freeze({
      name: c.name ?? d.cookie.name,
      secure: c.secure ?? d.cookie.secure,
      sameSite: c.sameSite ?? d.cookie.sameSite,
      httpOnly: c.httpOnly ?? d.cookie.httpOnly,
      path: c.path ?? d.cookie.path,
      domain: c.domain,
      maxAgeMs: c.maxAgeMs,
    }),
    headerName: (options.headerName ?? d.headerName).toLowerCase(),
    principal: options.principal,
    lazyAttributes: new Set(options.lazyAttributes ?? d.lazyAttributes),
    nearCache: nc
      ? { max: (nc === true ? undefined : nc.max) ?? d.nearCache.max, maxStalenessMs: (nc === true ? undefined : nc.maxStalenessMs) ?? d.nearCache.maxStalenessMs }
      : undefined,
    codec: options.codec ?? jsonCodec,
    asyncContext: options.asyncContext === 'auto' ? true : (options.asyncContext ?? d.asyncContext),
    proxy: options.proxy,
    legacy: resolveLegacyOptions(options.legacy),
  });
}
