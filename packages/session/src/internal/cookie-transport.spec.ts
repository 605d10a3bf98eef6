import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { pathMatches, readCookie, requestIsSecure, serializeSessionCookie } from './cookie-transport.js';

const cookie = { name: 'sid', secure: false, sameSite: 'lax' as const, httpOnly: true, path: '/', domain: undefined, maxAgeMs: undefined };
const req = (headers: Record<string, string>, encrypted = false, secure?: boolean) =>
  ({ headers, socket: { encrypted }, ...(secure === undefined ? {} : { secure }) }) as unknown as IncomingMessage;

describe('cookie transport', () => {
  it.each([
    ['/', '/anything', true],
    ['/app', '/app', true],
    ['/app', '/app/x', true],
    ['/app', '/apple', false],
    ['/app/', '/app/x', true],
    ['/app', '/', false],
  ])('cookie path %s matches request path %s: %s (RFC 6265 path-match)', (cookiePath, path, expected) => {
    expect(pathMatches(cookiePath, path)).toBe(expected);
  });

  it('reads the first occurrence of the cookie and decodes it', () => {
    expect(readCookie('a=1; sid=x%2Ey; sid=second', 'sid')).toBe('x.y');
    expect(readCookie(undefined, 'sid')).toBeUndefined();
    expect(readCookie('nothing-here', 'sid')).toBeUndefined();
  });

  it('serialises a persistent cookie with Max-Age and Expires counted from now', () => {
    const text = serializeSessionCookie({ ...cookie, maxAgeMs: 60_000 }, 'v', Date.UTC(2030, 0, 1));
    expect(text).toBe('sid=v; Max-Age=60; Path=/; Expires=Tue, 01 Jan 2030 00:01:00 GMT; HttpOnly; SameSite=Lax');
  });

  it('serialises a clearing cookie', () => {
    expect(serializeSessionCookie(cookie, undefined)).toBe('sid=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax');
  });

  it('judges HTTPS as express-session does', () => {
    expect(requestIsSecure(req({}, true), false)).toBe(true);
    expect(requestIsSecure(req({ 'x-forwarded-proto': 'https' }), false)).toBe(false);
    expect(requestIsSecure(req({ 'x-forwarded-proto': 'https, http' }), true)).toBe(true);
    expect(requestIsSecure(req({ 'x-forwarded-proto': 'http' }), true)).toBe(false);
    // Unset: Express's own judgement (trust proxy) through req.secure.
    expect(requestIsSecure(req({ 'x-forwarded-proto': 'https' }, false, true), undefined)).toBe(true);
    expect(requestIsSecure(req({ 'x-forwarded-proto': 'https' }), undefined)).toBe(false);
  });
});
