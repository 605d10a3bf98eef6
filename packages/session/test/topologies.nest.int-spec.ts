import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listKeys, startRedisCluster, startRedisSentinel, type RedisTestCluster, type RedisTestSentinel } from '@tidykv/testing';
import type { Cluster } from 'ioredis';
import { Agent, startExpressApp, type TestApp } from './support/session-app.js';

const tagOfKey = (key: string): string => /\{([^}]*)\}/.exec(key)?.[1] ?? '';

describe('@tidykv/session on Redis Cluster', () => {
  let cluster: RedisTestCluster;
  let probe: Cluster;
  let app: TestApp;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    probe = cluster.client();
    app = await startExpressApp({ connection: { cluster: { nodes: cluster.seeds } }, principal: 'userId', touchIntervalMs: 0 });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await cluster?.close();
  });

  it('creates, reads, writes and invalidates sessions spread over every master', async () => {
    const agents = Array.from({ length: 60 }, () => new Agent(app.url));
    await Promise.all(agents.map((a, i) => a.post('/s/set', { i })));
    await Promise.all(agents.map((a) => a.post('/s/incr/n')));
    const bodies = await Promise.all(agents.map((a) => a.get('/s/read')));
    bodies.forEach((b, i) => expect(b.body).toEqual({ i, n: 1 }));
    const perNode = await Promise.all(probe.nodes('master').map((n) => n.dbsize()));
    expect(perNode.every((n) => n > 0)).toBe(true);
    expect((await listKeys(probe)).every((k) => k.pttl > 0)).toBe(true);
    await Promise.all(agents.map((a) => a.post('/s/logout')));
    expect(await listKeys(probe)).toEqual([]);
  });

  it('regenerate() is one atomic script in the same slot', async () => {
    const a = new Agent(app.url);
    await a.post('/s/set', { cart: [1] });
    const [before] = await listKeys(probe);
    await a.post('/s/regenerate');
    const [after] = await listKeys(probe);
    expect(after.key).not.toBe(before.key);
    expect(tagOfKey(after.key)).toBe(tagOfKey(before.key));
    expect(after.pttl).toBeGreaterThan(0);
    expect((await a.get('/s/read')).body).toEqual({ cart: [1] });
    await a.post('/s/logout');
  });

  it('login moves an anonymous session into the principal slot; list and log-out-everywhere work', async () => {
    const agents = Array.from({ length: 4 }, () => new Agent(app.url));
    for (const a of agents) {
      await a.post('/s/set', { cart: ['x'] });
      await a.post('/s/login', { userId: 'eve' });
    }
    const keys = await listKeys(probe);
    expect(keys).toHaveLength(5); // 4 sessions + 1 index, in one slot
    expect(new Set(keys.map((k) => tagOfKey(k.key))).size).toBe(1);
    expect(keys.every((k) => k.pttl > 0)).toBe(true);
    expect((await agents[0].get('/s/read')).body).toEqual({ cart: ['x'], userId: 'eve' });
    expect((await agents[0].get('/s/principal/eve')).body).toHaveLength(4);
    expect(((await agents[0].post('/s/principal/eve/logout-all')).body as { n: number }).n).toBe(4);
    expect(await listKeys(probe)).toEqual([]);
  });

  it('refuses the near-cache on Cluster at start-up', async () => {
    await expect(startExpressApp({ connection: { cluster: { nodes: cluster.seeds } }, nearCache: true })).rejects.toThrow(/SessionModule.nearCache/);
  });
});

describe('@tidykv/session through Sentinel', () => {
  let sentinel: RedisTestSentinel;
  let app: TestApp;

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
    app = await startExpressApp({ connection: { sentinels: sentinel.sentinels, name: sentinel.name } });
  }, 30_000);
  afterAll(async () => {
    await app?.close();
    await sentinel?.close();
  });

  it('creates, reads, writes and invalidates a session on the master Sentinel names', async () => {
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 1 });
    await a.post('/s/incr/n');
    expect((await a.get('/s/read')).body).toEqual({ n: 2 });
    const master = sentinel.master.client();
    const keys = await listKeys(master);
    expect(keys).toHaveLength(1);
    expect(keys[0].pttl).toBeGreaterThan(0);
    await a.post('/s/logout');
    expect(await master.dbsize()).toBe(0);
  });
});
