import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countClientCommands, eventually, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { Agent, startExpressApp, type TestApp } from './support/session-app.js';

const tagOfKey = (key: string): string => /\{([^}]*)\}/.exec(key)?.[1] ?? '';

describe('@tidykv/session principal index', () => {
  let redis: RedisTestServer;
  let probe: Redis;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    probe = redis.client();
    app = await startExpressApp({ connection: { url: redis.url }, principal: 'userId', idleTimeoutMs: 60_000, touchIntervalMs: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.close();
  });

  it("lists a user's live sessions and logs them all out, leaving other users alone", async () => {
    await probe.flushall();
    const alice = Array.from({ length: 3 }, () => new Agent(app.url));
    for (const a of alice) await a.post('/s/login', { userId: 'alice' });
    const bob = new Agent(app.url);
    await bob.post('/s/login', { userId: 'bob' });
    const listed = (await alice[0].get('/s/principal/alice')).body as { id: string; expiresAt: number; createdAt: number; lastAccessedAt: number }[];
    expect(listed).toHaveLength(3);
    for (const s of listed) {
      expect(s.expiresAt).toBeGreaterThan(Date.now() + 50_000);
      // Times come from each session's hash (server clock), read in the same pipeline that proves it exists.
      expect(Math.abs(s.createdAt - Date.now())).toBeLessThan(10_000);
      expect(s.lastAccessedAt).toBeGreaterThanOrEqual(s.createdAt);
    }
    // Every key of alice (sessions and index) shares one hash tag, so one script can update them together.
    const aliceKeys = (await listKeys(probe)).filter((k) => tagOfKey(k.key) === tagOfKey(`{${listed[0].id.slice(0, 4)}}`));
    expect(aliceKeys.map((k) => k.type).sort()).toEqual(['hash', 'hash', 'hash', 'zset']);
    expect((await listKeys(probe)).every((k) => k.pttl > 0)).toBe(true);

    expect(((await bob.post('/s/principal/alice/logout-all')).body as { n: number }).n).toBe(3);
    for (const a of alice) expect((await a.get('/s/read')).body).toEqual({});
    expect((await bob.get('/s/read')).body).toEqual({ userId: 'bob' });
    expect((await bob.get('/s/principal/alice')).body).toEqual([]);
    const remaining = await listKeys(probe);
    expect(remaining.map((k) => k.type).sort()).toEqual(['hash', 'zset']);
  });

  it('logging in on an anonymous session moves it (with its data) into the principal slot under a new id', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { cart: ['book'] });
    const anon = a.cookie;
    const [before] = await listKeys(probe);
    await a.post('/s/login', { userId: 'carol' });
    expect(a.cookie).not.toBe(anon);
    expect((await a.get('/s/read')).body).toEqual({ cart: ['book'], userId: 'carol' });
    const keys = await listKeys(probe);
    expect(keys.map((k) => k.key)).not.toContain(before.key);
    expect(new Set(keys.map((k) => tagOfKey(k.key))).size).toBe(1);
    expect(keys.map((k) => k.type).sort()).toEqual(['hash', 'zset']);
  });

  it('a touch keeps the index entry alive in the same single command', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/login', { userId: 'dave' });
    const idx = (await listKeys(probe)).find((k) => k.type === 'zset')?.key as string;
    const scoreBefore = Number(await probe.zscore(idx, (await probe.zrange(idx, 0, '0'))[0]));
    await new Promise((r) => setTimeout(r, 20));
    const mon = await countClientCommands(redis.client(), () => a.get('/s/read'));
    expect(mon.commands).toHaveLength(1);
    expect(Number(await probe.zscore(idx, (await probe.zrange(idx, 0, '0'))[0]))).toBeGreaterThan(scoreBefore);
  });

  it('index entries expire with their sessions: once every session of a user has expired, no index key remains', async () => {
    const short = await startExpressApp({ connection: { url: redis.url }, principal: 'userId', idleTimeoutMs: 1_500, touchIntervalMs: 100, keyPrefix: 'pexp:' });
    try {
      const agents = Array.from({ length: 30 }, () => new Agent(short.url));
      await Promise.all(agents.map((a, i) => a.post('/s/login', { userId: `user${i % 5}` })));
      const keys = await listKeys(probe, 'pexp:*');
      expect(keys.filter((k) => k.type === 'zset').length).toBeGreaterThan(0);
      expect(keys.every((k) => k.pttl > 0)).toBe(true);
      // Keep one user's sessions alive a little longer: its index must outlive the others.
      await new Promise((r) => setTimeout(r, 600));
      await Promise.all(agents.filter((_, i) => i % 5 === 0).map((a) => a.get('/s/read')));
      await eventually(async () => (await listKeys(probe, 'pexp:*')).filter((k) => k.type === 'hash').length === 6, 3_000, 'the idle users to expire');
      // The four idle users' index keys went with their sessions; the active user's index remains.
      const left = await listKeys(probe, 'pexp:*');
      expect(left.filter((k) => k.type === 'zset')).toHaveLength(1);
      expect(await probe.zcard(left.find((k) => k.type === 'zset')?.key as string)).toBe(6);
      await eventually(async () => (await listKeys(probe, 'pexp:*')).length === 0, 4_000, 'every session and index key to expire');
    } finally {
      await short.close();
    }
  });
});
