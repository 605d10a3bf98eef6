import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dbSize, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { Agent, startExpressApp, type TestApp } from './support/session-app.js';

// Invariants under concurrency, each reproduced with hundreds of concurrent HTTP requests against
// one app and one real Redis.
describe('@tidykv/session invariants under concurrency', () => {
  let redis: RedisTestServer;
  let probe: Redis;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    probe = redis.client();
    app = await startExpressApp({ connection: { url: redis.url }, idleTimeoutMs: 60_000, touchIntervalMs: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.close();
  });

  it('a logout racing hundreds of writes leaves no key (with or without TTL), the session stays dead, and the dropped writes know it', async () => {
    await probe.flushall();
    const statuses: Record<string, number> = {};
    for (let round = 0; round < 4; round++) {
      const a = new Agent(app.url);
      await a.post('/s/set', { userId: 'u1' });
      const writers = Array.from({ length: 100 }, (_, i) => a.clone().request('POST', `/s/slow-set?ms=${i % 20}`, { [`k${i}`]: i }));
      // The logout lands in the middle of the writes.
      await new Promise((r) => setTimeout(r, 8));
      const logout = a.post('/s/logout');
      const results = await Promise.all([...writers, logout]);
      for (const r of results.slice(0, -1)) {
        expect(r.status).toBe(200);
        const s = (r.body as { status: string }).status;
        statuses[s] = (statuses[s] ?? 0) + 1;
      }
      expect(results.at(-1)?.status).toBe(204);
      // Nothing left: no resurrected hash, no partial hash, nothing without a TTL.
      expect(await listKeys(probe)).toEqual([]);
      const replay = a.clone();
      expect((await replay.get('/s/read')).body).toEqual({});
    }
    // Writes that lost the race were told so (and the ones that won were saved before the logout).
    expect(statuses.dropped).toBeGreaterThan(0);
    expect(Object.keys(statuses).sort()).toEqual(expect.arrayContaining(['dropped']));
    expect((statuses.dropped ?? 0) + (statuses.saved ?? 0)).toBe(400);
  });

  it('hundreds of concurrent requests writing different attributes all persist', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { base: true });
    const n = 300;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => a.clone().post('/s/set', { [`a${i}`]: i })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const body = (await a.get('/s/read')).body as Record<string, unknown>;
    expect(Object.keys(body)).toHaveLength(n + 1);
    for (let i = 0; i < n; i++) expect(body[`a${i}`]).toBe(i);
    const [k] = await listKeys(probe);
    expect(k.pttl).toBeGreaterThan(0);
  });

  it('saves that arrive after the session expired do not bring it back', async () => {
    // A 4 s idle timeout leaves a loaded machine time to create all 200 before the first expires.
    const short = await startExpressApp({ connection: { url: redis.url }, idleTimeoutMs: 4_000, touchIntervalMs: 3_900, keyPrefix: 'exp:' });
    try {
      await probe.flushall();
      const agents = Array.from({ length: 200 }, () => new Agent(short.url));
      await Promise.all(agents.map((a) => a.post('/s/set', { n: 1 })));
      expect(await dbSize(probe)).toBe(200);
      // Each request loads its session (a touch at most re-arms 4 s), then outlives it, then writes.
      const results = await Promise.all(agents.map((a) => a.request('POST', '/s/slow-set?ms=5000', { late: true })));
      expect(results.map((r) => (r.body as { status: string }).status)).toEqual(Array(200).fill('dropped'));
      expect(await dbSize(probe)).toBe(0);
    } finally {
      await short.close();
    }
  });
});
