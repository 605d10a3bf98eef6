import { describe, expect, it } from '@jest/globals';
import { readDemoConfig } from './demo.config.js';

const SECRET = 'x'.repeat(32);

describe('readDemoConfig', () => {
  it('defaults REFRESH_TTL_SECONDS to 604800, PLATFORM to express and legacy migration to off', () => {
    const c = readDemoConfig({});
    expect(c).toMatchObject({ port: 3000, host: '127.0.0.1', sessionTtlSeconds: 1800, refreshTtlSeconds: 604_800, platform: 'express', legacy: undefined });
    expect(c.sessionSecrets).toHaveLength(1);
  });

  it('reads every variable it documents', () => {
    const c = readDemoConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://r:6379',
      SESSION_TTL_SECONDS: '60',
      SESSION_SECRETS: `${SECRET},${'y'.repeat(40)}`,
      REFRESH_TTL_SECONDS: '3600',
      PLATFORM: 'fastify',
    });
    expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', redisUrl: 'redis://r:6379', sessionTtlSeconds: 60, refreshTtlSeconds: 3600, platform: 'fastify' });
    expect(c.sessionSecrets).toEqual([SECRET, 'y'.repeat(40)]);
  });

  it('turns legacy migration on with LEGACY_SESSION_SECRETS, defaulting its prefix and cookie name', () => {
    expect(readDemoConfig({ LEGACY_SESSION_SECRETS: 'old-one, old-two' }).legacy).toEqual({ secrets: ['old-one', 'old-two'], prefix: 'sess:', cookieName: 'connect.sid' });
  });

  it('reads LEGACY_SESSION_PREFIX and LEGACY_COOKIE_NAME', () => {
    const c = readDemoConfig({ LEGACY_SESSION_SECRETS: 'old', LEGACY_SESSION_PREFIX: 'myapp:sess:', LEGACY_COOKIE_NAME: 'app.sid' });
    expect(c.legacy).toEqual({ secrets: ['old'], prefix: 'myapp:sess:', cookieName: 'app.sid' });
  });

  it.each([
    ['PORT', { PORT: '70000' }, /PORT must be an integer from 0 to 65535, received "70000"/],
    ['SESSION_TTL_SECONDS', { SESSION_TTL_SECONDS: '0' }, /SESSION_TTL_SECONDS must be a positive integer number of seconds, received "0"/],
    ['REFRESH_TTL_SECONDS', { REFRESH_TTL_SECONDS: '1.5' }, /REFRESH_TTL_SECONDS must be a positive integer number of seconds, received "1.5"/],
    ['SESSION_SECRETS', { SESSION_SECRETS: 'short' }, /SESSION_SECRETS must hold comma-separated secrets of at least 32 characters/],
    ['PLATFORM', { PLATFORM: 'koa' }, /PLATFORM must be "express" or "fastify", received "koa"/],
    ['LEGACY_SESSION_SECRETS', { LEGACY_SESSION_SECRETS: 'a,,b' }, /LEGACY_SESSION_SECRETS must hold comma-separated, non-empty secrets/],
  ])('refuses a bad %s with a message naming it and the value', (_name, env, message) => {
    expect(() => readDemoConfig(env)).toThrow(message);
  });
});
