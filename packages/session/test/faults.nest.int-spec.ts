import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import { Agent, setThenWaitStarted, startExpressApp } from './support/session-app.js';

describe('@tidykv/session under faults', () => {
  let redis: RedisTestServer;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('during an outage, requests that need the session fail fast with a typed error (503 in the app) and the process survives', async () => {
    const app = await startExpressApp({ connection: { url: redis.url, commandTimeoutMs: 300, connectTimeoutMs: 300 } });
    let restarted = false;
    try {
      const a = new Agent(app.url);
      await a.post('/s/set', { n: 1 });
      await redis.stop();
      const started = Date.now();
      const [read, write, logout, create] = await Promise.all([
        a.get('/s/read'),
        a.post('/s/incr/n'),
        a.post('/s/logout'),
        new Agent(app.url).post('/s/set', { x: 1 }),
      ]);
      const elapsed = Date.now() - started;
      // Loading fails inside the handler's parameter resolution: the typed error reaches the app's filter.
      for (const r of [read, write, logout]) expect(r).toMatchObject({ status: 503, body: { code: 'TIDYKV_UNAVAILABLE', name: 'RedisUnavailableError' } });
      // A new session is only written at the end of the request, after the handler: the response
      // is replaced with a 503 carrying the same stable code, and no cookie is set.
      expect(create).toMatchObject({ status: 503, body: { statusCode: 503, code: 'TIDYKV_UNAVAILABLE' }, setCookie: [] });
      expect(elapsed).toBeLessThan(1_500);
      // Routes that never touch the session keep working.
      expect((await a.get('/s/none')).status).toBe(200);
      await redis.start();
      restarted = true;
      // The restarted server is empty: the old session is gone, new ones work.
      const b = new Agent(app.url);
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        ok = (await b.post('/s/set', { n: 1 })).status === 200;
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok).toBe(true);
      expect((await b.get('/s/read')).body).toEqual({ n: 1 });
    } finally {
      if (!restarted) await redis.start();
      await app.close();
    }
  });

  it('on shutdown, in-flight saves finish before the connection closes', async () => {
    const app = await startExpressApp({ connection: { url: redis.url } });
    const probe = redis.client();
    await probe.flushall();
    const agents = Array.from({ length: 20 }, () => new Agent(app.url));
    await Promise.all(agents.map((a) => a.post('/s/set', { n: 0 })));
    // Requests that set, then keep working for 300 ms, and save at the end; the app closes meanwhile.
    const started = setThenWaitStarted.count;
    const inflight = agents.map((a) => a.request('POST', '/s/set-then-wait?ms=300', { late: 'saved' }));
    await eventually(() => setThenWaitStarted.count - started === 20, 10_000, 'the 20 requests in their handlers');
    const closing = app.close();
    const results = await Promise.all(inflight);
    await closing;
    expect(results.map((r) => `${r.status} ${JSON.stringify(r.body)}`)).toEqual(Array(20).fill('200 {"ok":true}'));
    const keys = await listKeys(probe, 'tkv:s:*');
    expect(keys).toHaveLength(20);
    for (const k of keys) expect(await probe.hget(k.key, 'late')).toBe('"saved"');
  });
});
