import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { countClientCommands, dbSize, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { Agent, SECRET, TestAppModule, wrap, type TestApp } from './support/session-app.js';
import { expectAnswersKeepWritesAndCookies } from './support/shared-behaviours.js';

describe('@tidykv/session on Fastify', () => {
  let redis: RedisTestServer;
  let probe: Redis;
  let app: TestApp;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    probe = redis.client();
    const nest = await NestFactory.create<NestFastifyApplication>(
      TestAppModule.register({ connection: { url: redis.url }, secrets: [SECRET], principal: 'userId', touchIntervalMs: 10_000 }),
      new FastifyAdapter(),
      { logger: false, abortOnError: false },
    );
    await nest.listen(0, '127.0.0.1');
    app = await wrap(nest);
    const w = new Agent(app.url);
    await w.post('/s/set', { a: 1 });
    await w.post('/s/incr/a');
    await w.post('/s/logout');
  });
  afterAll(async () => {
    await app?.close();
    await redis?.close();
  });

  it('creates nothing for a request that does not write', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    const r = await a.get('/s/read');
    expect(r.body).toEqual({});
    expect(r.setCookie).toEqual([]);
    expect(await dbSize(probe)).toBe(0);
  });

  it('creates (1 command), reads (1), writes (2), saving before the response is sent', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    const created = await countClientCommands(redis.client(), () => a.post('/s/set', { n: 0 }));
    expect(created.commands).toHaveLength(1);
    expect(created.result.setCookie[0]).toMatch(/^sid=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
    const read = await countClientCommands(redis.client(), () => a.get('/s/read-twice'));
    expect(read.result.body).toEqual({ a: 0, b: 0 });
    expect(read.commands).toHaveLength(1);
    const [k] = await listKeys(probe);
    for (let i = 1; i <= 5; i++) {
      const w = await countClientCommands(redis.client(), () => a.post('/s/incr/n'));
      expect(w.commands).toHaveLength(2);
      expect(await probe.hget(k.key, 'n')).toBe(String(i));
    }
  });

  it('logs in with a new id, lists by principal and logs out with a cleared cookie', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { cart: 1 });
    const anon = a.cookie;
    await a.post('/s/login', { userId: 'zoe' });
    expect(a.cookie).not.toBe(anon);
    expect((await a.get('/s/read')).body).toEqual({ cart: 1, userId: 'zoe' });
    expect((await a.get('/s/principal/zoe')).body).toHaveLength(1);
    const out = await a.post('/s/logout');
    expect(out.status).toBe(204);
    expect(out.setCookie[0]).toMatch(/^sid=; Max-Age=0; Path=\/;/);
    expect(await dbSize(probe)).toBe(0);
  });

  it('a logout racing 200 writes leaves nothing behind', async () => {
    await probe.flushall();
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 0 });
    const writes = Array.from({ length: 200 }, (_, i) => a.clone().request('POST', `/s/slow-set?ms=${i % 10}`, { [`k${i}`]: i }));
    await new Promise((r) => setTimeout(r, 5));
    const results = await Promise.all([...writes, a.post('/s/logout')]);
    expect(results.every((r) => r.status === 200 || r.status === 204)).toBe(true);
    expect(await listKeys(probe)).toEqual([]);
  });

  it('a codec failure is a typed error, mapped by the app', async () => {
    const a = new Agent(app.url);
    await a.post('/s/set', { n: 1 });
    const r = await a.post('/s/set-fn');
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ code: 'TIDYKV_CODEC', name: 'TidyKvCodecError' });
  });

  it('a 4xx answer keeps the writes, a handler that sends the response itself is saved first, and app cookies survive', async () => {
    await probe.flushall();
    await expectAnswersKeepWritesAndCookies(app.url);
  });
});
