import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { countClientCommands, eventually, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { Agent, startExpressApp, type TestApp } from './support/session-app.js';

// Two app instances against one Redis, no sticky sessions: the same client alternates between them.
describe('@tidykv/session near-cache', () => {
  let redis: RedisTestServer;
  let probe: Redis;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    probe = redis.client();
    const options = { connection: { url: redis.url }, idleTimeoutMs: 60_000, touchIntervalMs: 30_000, nearCache: { max: 100, maxStalenessMs: 10_000 } };
    a = await startExpressApp(options);
    b = await startExpressApp(options);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  it('a read-only request served from the near-cache costs 0 Redis commands', async () => {
    const u = new Agent(a.url);
    await u.post('/s/set', { n: 1 });
    await u.get('/s/read'); // fills the cache
    const mon = await countClientCommands(redis.client(), async () => {
      for (let i = 0; i < 10; i++) expect((await u.get('/s/read')).body).toEqual({ n: 1 });
    });
    expect(mon.commands).toEqual([]);
  });

  it("the app's own writes invalidate its cache", async () => {
    const u = new Agent(a.url);
    await u.post('/s/set', { n: 1 });
    await u.get('/s/read');
    await u.post('/s/incr/n');
    expect((await u.get('/s/read')).body).toEqual({ n: 2 });
  });

  it("another instance's write reaches this instance's cache through client tracking", async () => {
    const onA = new Agent(a.url);
    await onA.post('/s/set', { n: 1 });
    await onA.get('/s/read');
    await onA.get('/s/read');
    const onB = onA.clone();
    (onB as unknown as { base: string }).base = b.url;
    for (let i = 2; i <= 20; i++) {
      await onB.post('/s/set', { n: i });
      // The invalidation is asynchronous (Pub/Sub), so poll briefly rather than sleep.
      await eventually(async () => ((await onA.get('/s/read')).body as { n: number }).n === i, 1_000, `instance A to see n=${i}`);
    }
    // And a logout on B is seen by A too.
    await onB.post('/s/logout');
    await eventually(async () => JSON.stringify((await onA.get('/s/read')).body) === '{}', 1_000, 'instance A to see the logout');
  });

  it('a write from outside the app (any client) also invalidates', async () => {
    const u = new Agent(a.url);
    await u.post('/s/set', { n: 1 });
    await u.get('/s/read');
    const id = (u.cookie as string).split('.')[0];
    await probe.hset(`tkv:s:{${id.slice(0, 4)}}${id.slice(4)}`, 'n', '42');
    await eventually(async () => ((await u.get('/s/read')).body as { n: number }).n === 42, 1_000, 'the cache to drop the entry');
  });

  it('FLUSHALL empties the cache (tracking sends a null invalidation)', async () => {
    const u = new Agent(a.url);
    await u.post('/s/set', { n: 1 });
    await u.get('/s/read');
    await probe.flushall();
    await eventually(async () => JSON.stringify((await u.get('/s/read')).body) === '{}', 1_000, 'the flushed session to disappear');
  });
});
