import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { parseCookie, stringifySetCookie } from 'cookie';

/** The cookie settings with defaults applied (the shape `ResolvedSessionOptions.cookie` has). */
export interface ResolvedCookieOptions {
  readonly name: string;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
  readonly httpOnly: boolean;
  readonly path: string;
  readonly domain: string | undefined;
  readonly maxAgeMs: number | undefined;
}

/**
 * The value of cookie `name` in a Cookie header, or undefined. Parsed by the `cookie` package
 * (jshttp, what Express uses): the first occurrence wins, values are URI-decoded.
 */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  return parseCookie(Array.isArray(header) ? header.join('; ') : header)[name];
}

/**
 * A Set-Cookie value carrying `value`, or clearing the cookie when `value` is undefined. A
 * persistent cookie (`maxAgeMs`) gets Max-Age and Expires, counted from now.
 */
export function serializeSessionCookie(o: ResolvedCookieOptions, value: string | undefined, now = Date.now()): string {
  const clear = value === undefined;
  return stringifySetCookie({
    name: o.name,
    value: clear ? '' : value,
    path: o.path,
    domain: o.domain,
    httpOnly: o.httpOnly,
    secure: o.secure,
    sameSite: o.sameSite,
    maxAge: clear ? 0 : o.maxAgeMs === undefined ? undefined : Math.floor(o.maxAgeMs / 1000),
    expires: clear ? new Date(0) : o.maxAgeMs === undefined ? undefined : new Date(now + o.maxAgeMs),
  });
}

/** The request's path (without the query), as the browser would match it against a cookie's path. */
export function requestPath(req: IncomingMessage): string {
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * RFC 6265 5.1.4 path-match: would a browser send a cookie with path `cookiePath` to `path`?
 * Requests outside the cookie's path get no session, as in express-session: a cookie set there
 * would never come back.
 */
export function pathMatches(cookiePath: string, path: string): boolean {
  if (path === cookiePath) return true;
  if (!path.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || path[cookiePath.length] === '/';
}

/**
 * True when the request arrived over HTTPS as express-session judges it: TLS on the socket, or,
 * behind a proxy, `X-Forwarded-Proto: https` from a trusted one. `proxy` true trusts the header,
 * false ignores it, undefined follows the platform: Express's `trust proxy` setting (through
 * `req.secure`); on Fastify only TLS counts unless `proxy` is true (middleware sees the raw request,
 * not Fastify's `trustProxy`).
 */
export function requestIsSecure(req: IncomingMessage, proxy: boolean | undefined): boolean {
  if ((req.socket as TLSSocket | undefined)?.encrypted === true) return true;
  if (proxy === false) return false;
  if (proxy === true) {
    const header = req.headers['x-forwarded-proto'];
    const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim().toLowerCase();
    return first === 'https';
  }
  const secure = (req as { secure?: unknown }).secure;
  return secure === true;
}

/**
 * Checks at start-up that the cookie attributes serialise: the `cookie` package refuses a domain
 * or path with characters that would inject attributes (`;`, control characters). Returns the
 * message of the refusal, or undefined.
 */
export function cookieAttributeProblem(o: { name: string; path: string; domain: string | undefined }): string | undefined {
  try {
    stringifySetCookie({ name: o.name, value: 'x', path: o.path, domain: o.domain });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
