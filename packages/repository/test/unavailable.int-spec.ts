import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisUnavailableError } from '@tidykv/core';
import { eventually, startRedis, type RedisTestServer } from '@tidykv/testing';
import { RepositoryContext } from '../src/index.js';
import { make, RefreshToken } from './support/entities.js';

// An outage must surface as a typed, catchable error on each call, never a crash or a hang.
describe('when Redis is down', () => {
  let server: RedisTestServer;
  beforeAll(async () => {
    server = await startRedis({ own: true });
  });
  afterAll(() => server.close());

  it.each([
    ['a connection tidykv opens', () => ({ url: server.url, commandTimeoutMs: 500 })],
    ['an app-owned client with an offline queue (tidykv waits for the connection instead)', () => ({ client: server.client({ maxRetriesPerRequest: 0, enableOfflineQueue: true }), commandTimeoutMs: 500 })],
  ])('every operation rejects with RedisUnavailableError, and works again once Redis is back: %s', async (_, connection) => {
    const ctx = RepositoryContext.create({ connection: connection() });
    try {
      const tokens = ctx.repository(RefreshToken);
      const t = make(RefreshToken, { id: 'a', userId: 'u', issuedAt: new Date() });
      await tokens.save(t);
      await server.stop();
      try {
        for (const call of [() => tokens.save(t), () => tokens.findById('a'), () => tokens.findBy('userId', 'u'), () => tokens.deleteById('a')]) {
          await expect(call()).rejects.toBeInstanceOf(RedisUnavailableError);
        }
      } finally {
        await server.start();
      }
      // The client reconnects with its own backoff; the first calls may still fail fast.
      await eventually(() => tokens.save(t).then(() => true, () => false), 10_000, 'a save after the restart');
      expect(await tokens.findById('a')).toEqual(t);
    } finally {
      await ctx.close();
    }
  });
});
