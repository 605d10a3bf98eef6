import type { ResolvedCookieOptions } from './resolved-options.js';

/** The value of cookie `name` in a Cookie header, or undefined. Only the first occurrence counts. */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join('; ') : header;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    try {
      return decodeURIComponent(v);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A Set-Cookie value carrying `value`, or clearing the cookie when `value` is undefined. */
export function serializeCookie(o: ResolvedCookieOptions, value: string | undefined): string {
  const parts = [`${o.name}=${value === undefined ? '' : encodeURIComponent(value)}`, `Path=${o.path}`];
  if (o.domain !== undefined) parts.push(`Domain=${o.domain}`);
  if (value === undefined) parts.push('Max-Age=0', 'Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  else if (o.maxAgeMs !== undefined) parts.push(`Max-Age=${Math.floor(o.maxAgeMs / 1000)}`);
  if (o.httpOnly) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  parts.push(`SameSite=${o.sameSite[0].toUpperCase()}${o.sameSite.slice(1)}`);
  return parts.join('; ');
}
