import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { dbSize, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import { request as httpRequest } from 'node:http';
import { AppModule } from '../src/app.module.js';
import { readDemoConfig } from '../src/demo.config.js';

interface Reply {
  status: number;
  body: unknown;
  setCookie: string[];
}

/** A client with one cookie jar; no keep-alive, so closing the app leaves no socket behind. */
class Client {
  cookie: string | undefined;
  constructor(private readonly base: string) {}

  send(method: string, path: string, body?: unknown): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (this.cookie) headers.cookie = this.cookie;
    return new Promise((resolve, reject) => {
      const req = httpRequest(this.base + path, { method, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const setCookie = res.headers['set-cookie'] ?? [];
          for (const c of setCookie) {
            const pair = c.split(';')[0];
            this.cookie = pair.endsWith('=') ? undefined : pair;
          }
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined, setCookie });
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
}

describe('demo auth service (Express)', () => {
  let redis: RedisTestServer;
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    const config = readDemoConfig({ SESSION_TTL_SECONDS: '60', SESSION_SECRETS: 'e2e-secret-e2e-secret-e2e-secret-e2e' });
    app = await NestFactory.create(AppModule.register({ ...config, redisUrl: redis.url }), { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await redis?.close();
  });

  it('GET /health answers without touching Redis', async () => {
    expect(await new Client(base).send('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('GET /me is 401 without a session, and creates nothing', async () => {
    const c = new Client(base);
    expect((await c.send('GET', '/me')).status).toBe(401);
    expect((await c.send('POST', '/me/visits')).status).toBe(401);
    expect(await dbSize(redis.client())).toBe(0);
  });

  it('login (201) -> /me (200) -> visits (200, counting) -> logout (204) -> /me (401)', async () => {
    const c = new Client(base);
    const login = await c.send('POST', '/auth/login', { userId: 'ada' });
    expect(login.status).toBe(201);
    expect(login.setCookie[0]).toMatch(/^sid=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(await c.send('GET', '/me')).toMatchObject({ status: 200, body: { userId: 'ada' } });
    for (let i = 1; i <= 3; i++) expect(await c.send('POST', '/me/visits')).toMatchObject({ status: 200, body: { visits: i } });
    const keys = await listKeys(redis.client());
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(k.pttl).toBeGreaterThan(0);
      expect(k.pttl).toBeLessThanOrEqual(60_000);
    }
    expect((await c.send('POST', '/auth/logout')).status).toBe(204);
    expect(c.cookie).toBeUndefined();
    expect((await c.send('GET', '/me')).status).toBe(401);
    expect(await dbSize(redis.client())).toBe(0);
  });

  it('login regenerates the id: the pre-login cookie is worthless afterwards', async () => {
    const c = new Client(base);
    await c.send('POST', '/auth/login', { userId: 'bob' });
    const first = c.cookie;
    await c.send('POST', '/auth/login', { userId: 'bob' });
    expect(c.cookie).not.toBe(first);
    const old = new Client(base);
    old.cookie = first;
    expect((await old.send('GET', '/me')).status).toBe(401);
    expect((await c.send('GET', '/me')).status).toBe(200);
  });

  it('rejects a bad login body with 400 and writes nothing', async () => {
    await redis.client().flushall();
    const c = new Client(base);
    expect((await c.send('POST', '/auth/login', {})).status).toBe(400);
    expect((await c.send('POST', '/auth/login', { userId: 42 })).status).toBe(400);
    expect(await dbSize(redis.client())).toBe(0);
  });

  it('answers 503 quickly while Redis is down, and recovers when it is back', async () => {
    const c = new Client(base);
    await c.send('POST', '/auth/login', { userId: 'cy' });
    await redis.stop();
    try {
      const t0 = Date.now();
      const replies = await Promise.all([c.send('GET', '/me'), c.send('POST', '/me/visits'), new Client(base).send('POST', '/auth/login', { userId: 'dee' })]);
      for (const r of replies) expect(r).toMatchObject({ status: 503, body: { code: 'TIDYKV_UNAVAILABLE' } });
      // The default command timeout is 2 s; nothing waits much beyond it.
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect((await c.send('GET', '/health')).status).toBe(200);
    } finally {
      await redis.start();
    }
    const d = new Client(base);
    let status = 0;
    for (let i = 0; i < 50 && status !== 201; i++) {
      status = (await d.send('POST', '/auth/login', { userId: 'dee' })).status;
      if (status !== 201) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(201);
    expect(await d.send('GET', '/me')).toMatchObject({ status: 200, body: { userId: 'dee' } });
  });
});
