import { describe, expect, it } from '@jest/globals';
import { TidyKvConfigError } from '@tidykv/core';
import { DEFAULT_SESSION_OPTIONS, resolveSessionOptions, validateSessionOptions, type SessionModuleOptions } from './session.options.js';

const base: SessionModuleOptions = { connection: { url: 'redis://localhost:6379' }, secrets: ['x'.repeat(32)] };

describe('session options', () => {
  it('apply every default with ?? so that 0 stays 0', () => {
    const r = resolveSessionOptions({ ...base, absoluteTimeoutMs: 0, touchIntervalMs: 0 });
    expect(r.absoluteTimeoutMs).toBe(0);
    expect(r.touchIntervalMs).toBe(0);
    const d = resolveSessionOptions(base);
    expect(d.idleTimeoutMs).toBe(DEFAULT_SESSION_OPTIONS.idleTimeoutMs);
    expect(d.touchIntervalMs).toBe(60_000);
    expect(d.cookie).toEqual({ name: 'sid', secure: false, sameSite: 'lax', httpOnly: true, path: '/', domain: undefined, maxAgeMs: undefined });
    expect(d.nearCache).toBeUndefined();
    expect(resolveSessionOptions({ ...base, idleTimeoutMs: 4_000 }).touchIntervalMs).toBe(1_000);
    expect(resolveSessionOptions({ ...base, nearCache: true }).nearCache).toEqual(DEFAULT_SESSION_OPTIONS.nearCache);
    expect(Object.isFrozen(DEFAULT_SESSION_OPTIONS)).toBe(true);
  });

  it.each([
    [{ secrets: [] }, 'SessionModule.secrets'],
    [{ secrets: ['short'] }, 'SessionModule.secrets'],
    [{ idleTimeoutMs: -1 }, 'SessionModule.idleTimeoutMs'],
    [{ idleTimeoutMs: 1000, touchIntervalMs: 1000 }, 'SessionModule.touchIntervalMs'],
    [{ saveMode: 'sometimes' }, 'SessionModule.saveMode'],
    [{ flushMode: 'later' }, 'SessionModule.flushMode'],
    [{ transport: 'query' }, 'SessionModule.transport'],
    [{ keyPrefix: 'a{b}' }, 'SessionModule.keyPrefix'],
    [{ cookie: { name: '__Host-sid' } }, 'SessionModule.cookie.secure'],
    [{ cookie: { name: '__Host-sid', secure: true, domain: 'example.com' } }, 'SessionModule.cookie.domain'],
    [{ cookie: { sameSite: 'none' } }, 'SessionModule.cookie.secure'],
    [{ principal: '#p' }, 'SessionModule.principal'],
    [{ principal: 'userId', lazyAttributes: ['userId'] }, 'SessionModule.lazyAttributes'],
    [{ nearCache: { max: 0 } }, 'SessionModule.nearCache.max'],
    [{ connection: { cluster: { nodes: ['127.0.0.1:7000'] } }, nearCache: true }, 'SessionModule.nearCache'],
    [{ connection: {} }, 'SessionModule.connection'],
    [{ cookie: { domain: 'example.com; Secure=false' } }, 'SessionModule.cookie.domain'],
    [{ cookie: { domain: 'example.com\r\nX: 1' } }, 'SessionModule.cookie.domain'],
    [{ cookie: { path: '/a; HttpOnly' } }, 'SessionModule.cookie.path'],
    [{ asyncContext: 'sometimes' }, 'SessionModule.asyncContext'],
    [{ proxy: 'yes' }, 'SessionModule.proxy'],
  ])('reject %j naming %s', (patch, option) => {
    let err: unknown;
    try {
      validateSessionOptions({ ...base, ...(patch as object) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TidyKvConfigError);
    expect((err as TidyKvConfigError).option).toBe(option);
    expect((err as Error).message).toContain('received');
  });
});
