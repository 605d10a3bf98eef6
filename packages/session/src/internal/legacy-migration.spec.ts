import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { TidyKvConfigError, TidyKvKeys, keySlot } from '@tidykv/core';
import { resolveSessionOptions, validateSessionOptions, type SessionModuleOptions } from '../session.options.js';
import { tagForSlot, unsignLegacyCookie } from './legacy-migration.js';

// What express-session writes into its cookie: 's:' + cookie-signature's sign(), i.e. the sid, a
// dot and base64 HMAC-SHA256 without '=' padding. The integration suite checks real express-session
// cookies; this is the same formula written independently.
const sign = (sid: string, secret: string): string => `s:${sid}.${createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')}`;

const SID = 'nQ2kV3l9m0ZtG1-mT3s_sKfAq8c9RjP0';

describe('unsignLegacyCookie', () => {
  it('returns the sid of a cookie signed with the secret', () => {
    expect(unsignLegacyCookie(sign(SID, 'keyboard cat'), ['keyboard cat'])).toBe(SID);
  });

  it('accepts a cookie signed with any secret of a rotation', () => {
    expect(unsignLegacyCookie(sign(SID, 'old secret'), ['new secret', 'old secret'])).toBe(SID);
  });

  it('keeps dots inside the sid, as cookie-signature splits at the last one', () => {
    expect(unsignLegacyCookie(sign('a.b.c', 's'), ['s'])).toBe('a.b.c');
  });

  it.each([
    ['an unsigned value', SID],
    ['a value signed with another secret', sign(SID, 'another secret')],
    ['a tampered sid', sign(SID, 'k').replace(SID, `${SID.slice(0, -1)}X`)],
    ['a tampered signature', sign(SID, 'k').slice(0, -1) + 'A'],
    ['a signature with its padding', `${sign(SID, 'k')}=`],
    ['a truncated signature', sign(SID, 'k').slice(0, -2)],
    ['no signature at all', `s:${SID}`],
    ['an empty sid', sign('', 'k')],
    ['a sid with a space', sign('a b', 'k')],
    ['a sid longer than 256 characters', sign('x'.repeat(257), 'k')],
    ['an empty string', ''],
  ])('refuses %s', (_what, value) => {
    expect(unsignLegacyCookie(value, ['k'])).toBeUndefined();
  });

  it('refuses values that are not strings', () => {
    for (const v of [undefined, null, 42, ['s:a.b']]) expect(unsignLegacyCookie(v, ['k'])).toBeUndefined();
  });
});

describe('tagForSlot', () => {
  it('gives, for every one of the 16384 cluster slots, a session tag whose keys land in that slot', () => {
    const wrong: string[] = [];
    for (let slot = 0; slot < 16_384; slot++) {
      const tag = tagForSlot(slot);
      if (!/^[A-Za-z0-9_-]{4}$/.test(tag) || keySlot(`tkv:s:{${tag}}abc`) !== slot) wrong.push(`${slot}: ${tag}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('TidyKvKeys legacy markers', () => {
  it('builds and parses the marker of a legacy key', () => {
    const keys = new TidyKvKeys('tkv:');
    const key = keys.legacyMarker('AbC-', 'x'.repeat(22));
    expect(key).toBe(`tkv:l:{AbC-}${'x'.repeat(22)}`);
    expect(keys.parse(key)).toEqual({ kind: 'legacy-marker', tag: 'AbC-', digest: 'x'.repeat(22) });
    expect(keys.parse(`${key}y`)).toBeUndefined();
    expect(keys.legacyMarkerGlob).toBe('tkv:l:{????\\}*');
  });
});

const base: SessionModuleOptions = { connection: { url: 'redis://localhost:6379' }, secrets: ['x'.repeat(32)] };

function configError(options: Partial<SessionModuleOptions>): TidyKvConfigError {
  try {
    validateSessionOptions({ ...base, ...options });
  } catch (err) {
    if (err instanceof TidyKvConfigError) return err;
    throw err;
  }
  throw new Error('no TidyKvConfigError');
}

describe('the legacy option', () => {
  it('applies connect-redis and express-session defaults', () => {
    expect(resolveSessionOptions({ ...base, legacy: { connectRedis: { secrets: ['keyboard cat'] } } }).legacy).toEqual({ prefix: 'sess:', cookieName: 'connect.sid', secrets: ['keyboard cat'] });
    expect(resolveSessionOptions(base).legacy).toBeUndefined();
  });

  it.each([
    [{ legacy: 'yes' }, 'SessionModule.legacy'],
    [{ legacy: {} }, 'SessionModule.legacy.connectRedis'],
    [{ legacy: { connectRedis: {} } }, 'SessionModule.legacy.connectRedis.secrets'],
    [{ legacy: { connectRedis: { secrets: [] } } }, 'SessionModule.legacy.connectRedis.secrets'],
    [{ legacy: { connectRedis: { secrets: [''] } } }, 'SessionModule.legacy.connectRedis.secrets'],
    [{ legacy: { connectRedis: { secrets: ['s'], prefix: 'has space' } } }, 'SessionModule.legacy.connectRedis.prefix'],
    [{ legacy: { connectRedis: { secrets: ['s'], cookieName: 'a;b' } } }, 'SessionModule.legacy.connectRedis.cookieName'],
  ])('refuses %j at start-up naming %s', (options, option) => {
    const err = configError(options as Partial<SessionModuleOptions>);
    expect(err.option).toBe(option);
    expect(err.message).toContain(`\`${option}\``);
    expect(err.message).toMatch(/received .*expected/);
  });

  it('refuses migration on Redis Cluster with the principal index on, saying why and what to do', () => {
    const err = configError({ connection: { cluster: { nodes: [{ host: 'h', port: 1 }] } }, principal: 'userId', legacy: { connectRedis: { secrets: ['s'] } } });
    expect(err.option).toBe('SessionModule.legacy');
    expect(err.message).toMatch(/atomic only within one slot/);
    expect(err.message).toMatch(/principal` unset/);
  });

  it('accepts migration on Redis Cluster without the principal index', () => {
    expect(() => validateSessionOptions({ ...base, connection: { cluster: { nodes: [{ host: 'h', port: 1 }] } }, legacy: { connectRedis: { secrets: ['s'] } } })).not.toThrow();
  });
});
