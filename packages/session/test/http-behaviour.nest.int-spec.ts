import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { SessionModuleOptions } from '@tidykv/session';
import { countClientCommands, countCommands, dbSize, eventually, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { Agent, SECRET, TestAppModule, wrap, type TestApp } from './support/session-app.js';

// The HTTP behaviour users rely on from express-session and Spring Session (issue 11), each point
// against a real Redis and a real Nest app on Express.

class RecordingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

const scriptCalls = (counts: Record<string, number>): number => (counts.evalsha ?? 0) + (counts.eval ?? 0);

describe('@tidykv/session HTTP behaviour', () => {
  let redis: RedisTestServer;
  let probe: Redis;
  const apps: INestApplication[] = [];

  async function start(options: Partial<SessionModuleOptions>, setup?: (app: NestExpressApplication) => void): Promise<TestApp & { logger: RecordingLogger }> {
    const logger = new RecordingLogger();
    const app = await NestFactory.create<NestExpressApplication>(TestAppModule.register({ connection: { url: redis.url }, secrets: [SECRET], ...options }), { logger, abortOnError: false });
    setup?.(app);
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    return { ...(await wrap(app)), logger };
  }

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    probe = redis.client();
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await redis?.close();
  });

  describe('regenerate', () => {
    it('regenerate on a new session creates one id with one command', async () => {
      const app = await start({ principal: 'userId' });
      await probe.flushall();
      const a = new Agent(app.url);
      const mon = await countClientCommands(redis.client(), () => a.post('/s/login', { userId: 'ada' }));
      expect(mon.commands).toHaveLength(1);
      expect(mon.commands[0]).toMatch(/^eval(sha)? /);
      expect(mon.result.setCookie.filter((c) => c.startsWith('sid='))).toHaveLength(1);
      expect((await a.get('/s/read')).body).toEqual({ userId: 'ada' });
    });

    it('regenerate on a new session with save() in the handler gives the handler the final id', async () => {
      const app = await start({ principal: 'userId' });
      await probe.flushall();
      const a = new Agent(app.url);
      const { result, counts } = await countCommands(probe, () => a.post('/s/login-and-save', { userId: 'ada' }));
      const body = result.body as { status: string; id: string };
      expect(body.status).toBe('created');
      expect(scriptCalls(counts)).toBe(1);
      expect(a.cookie?.startsWith(`${body.id}.`)).toBe(true);
      expect(await dbSize(probe)).toBe(2);
    });

    it('flushMode immediate: regenerate then set on a new session still makes one id', async () => {
      const app = await start({ principal: 'userId', flushMode: 'immediate' });
      await probe.flushall();
      const a = new Agent(app.url);
      await a.post('/s/login', { userId: 'ada' });
      const sessions = (await probe.keys('tkv:s:*')).length;
      expect(sessions).toBe(1);
      expect((await a.get('/s/read')).body).toEqual({ userId: 'ada' });
    });
  });

  describe('persistent cookies', () => {
    it('a persistent cookie is sent again with a new expiry when the session is touched, at most once per touch interval', async () => {
      const app = await start({ cookie: { maxAgeMs: 3_600_000 }, touchIntervalMs: 300, idleTimeoutMs: 10_000 });
      await probe.flushall();
      const a = new Agent(app.url);
      const first = await a.post('/s/set', { n: 1 });
      expect(first.setCookie[0]).toMatch(/; Max-Age=3600; /);
      const expiresOf = (c: string) => Date.parse(/Expires=([^;]+)/.exec(c)?.[1] ?? '');
      // Within the interval: no touch, no cookie.
      expect((await a.get('/s/read')).setCookie).toEqual([]);
      let refreshed: string | undefined;
      await eventually(async () => {
        refreshed = (await a.get('/s/read')).setCookie[0];
        return refreshed !== undefined;
      }, 5_000, 'a touch that re-sends the cookie');
      expect(refreshed).toMatch(/^sid=[^;]+; Max-Age=3600; /);
      // Expires is counted from the touch (HTTP dates have whole seconds).
      expect(expiresOf(refreshed as string)).toBeGreaterThanOrEqual(expiresOf(first.setCookie[0]));
      expect(Math.abs(expiresOf(refreshed as string) - (Date.now() + 3_600_000))).toBeLessThan(3_000);
      // Right after the touch, the next request sends none again.
      expect((await a.get('/s/read')).setCookie).toEqual([]);
    });
  });

  describe('Secure cookies', () => {
    it('a Secure cookie is not set on a plain-HTTP request, nothing is stored, and one warning names the fix', async () => {
      const app = await start({ cookie: { secure: true } });
      await probe.flushall();
      for (let i = 0; i < 3; i++) {
        const r = await new Agent(app.url).post('/s/set', { n: 1 });
        expect(r.status).toBe(200);
        expect(r.setCookie).toEqual([]);
      }
      expect(await dbSize(probe)).toBe(0);
      const warnings = app.logger.warnings.filter((w) => w.includes('Secure session cookie'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/trust proxy/);
    });

    it('a Secure cookie is set behind a proxy Express trusts (X-Forwarded-Proto: https)', async () => {
      const app = await start({ cookie: { secure: true } }, (a) => a.set('trust proxy', 1));
      const a = new Agent(app.url);
      a.extraHeaders['x-forwarded-proto'] = 'https';
      const r = await a.post('/s/set', { n: 1 });
      expect(r.setCookie[0]).toMatch(/; Secure; /);
      expect((await a.get('/s/read')).body).toEqual({ n: 1 });
    });

    it('X-Forwarded-Proto from an untrusted client is ignored', async () => {
      const app = await start({ cookie: { secure: true } });
      const a = new Agent(app.url);
      a.extraHeaders['x-forwarded-proto'] = 'https';
      expect((await a.post('/s/set', { n: 1 })).setCookie).toEqual([]);
    });

    it('option proxy: true trusts X-Forwarded-Proto without Express settings (as on Fastify)', async () => {
      const app = await start({ cookie: { secure: true }, proxy: true });
      const a = new Agent(app.url);
      a.extraHeaders['x-forwarded-proto'] = 'https';
      expect((await a.post('/s/set', { n: 1 })).setCookie[0]).toMatch(/; Secure; /);
    });
  });

  describe('cookie path', () => {
    it('a request outside cookie.path gets no session and no cookie', async () => {
      const app = await start({ cookie: { path: '/app' } });
      await probe.flushall();
      const r = await new Agent(app.url).post('/s/set', { n: 1 });
      // @Session() has nothing to give: a typed error (mapped to 500 by the test app's filter).
      expect(r.status).toBe(500);
      expect(r.body).toMatchObject({ code: 'TIDYKV_SESSION_STATE' });
      expect(r.setCookie).toEqual([]);
      expect((await new Agent(app.url).get('/s/none')).setCookie).toEqual([]);
      expect(await dbSize(probe)).toBe(0);
    });

    it('a request inside cookie.path gets a cookie for that path', async () => {
      const app = await start({ cookie: { path: '/s' } });
      const a = new Agent(app.url);
      expect((await a.post('/s/set', { n: 1 })).setCookie[0]).toMatch(/; Path=\/s(;|$)/);
      expect((await a.get('/s/read')).body).toEqual({ n: 1 });
    });
  });

  describe('increment', () => {
    it('1,000 concurrent increments on one session lose nothing', async () => {
      const app = await start({});
      await probe.flushall();
      const a = new Agent(app.url);
      await a.post('/s/set', { visits: 0 });
      const answers: number[] = [];
      for (let batch = 0; batch < 5; batch++) {
        const rs = await Promise.all(Array.from({ length: 200 }, () => a.clone().post('/s/increment/visits')));
        for (const r of rs) {
          expect(r.status).toBe(200);
          answers.push((r.body as { n: number }).n);
        }
      }
      expect((await a.get('/s/read')).body).toEqual({ visits: 1000 });
      // Every answer is a distinct value: each request saw its own increment.
      expect(new Set(answers).size).toBe(1000);
    });

    it('a request that only increments costs the load plus one command', async () => {
      const app = await start({});
      await probe.flushall();
      const a = new Agent(app.url);
      await a.post('/s/set', { visits: 1 });
      const mon = await countClientCommands(redis.client(), () => a.post('/s/increment/visits'));
      expect(mon.commands).toHaveLength(2);
      expect(mon.commands[0]).toMatch(/^hgetall /);
      expect(mon.commands[1]).toMatch(/^eval(sha)? /);
    });
  });

  describe('failure answers', () => {
    it('a 503 from the middleware keeps the app headers, CORS included, and drops only the session cookie', async () => {
      const app = await start({ connection: { url: redis.url, commandTimeoutMs: 300 } });
      await probe.flushall();
      const pauser = redis.client();
      await pauser.call('CLIENT', 'PAUSE', '1500', 'WRITE');
      try {
        const r = await new Agent(app.url).post('/s/cors-write');
        expect(r.status).toBe(503);
        // The create was sent and no reply came within the deadline: its outcome is unknown.
        expect(r.body).toMatchObject({ statusCode: 503, code: 'TIDYKV_OUTCOME_UNKNOWN' });
        expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
        expect(r.setCookie.filter((c) => c.startsWith('sid='))).toEqual([]);
      } finally {
        await pauser.call('CLIENT', 'UNPAUSE');
      }
    });

    it('a 503 while Redis is down says nothing was applied (TIDYKV_UNAVAILABLE)', async () => {
      const own = await startRedis({ own: true });
      try {
        const app = await start({ connection: { url: own.url, commandTimeoutMs: 300 } });
        await new Agent(app.url).get('/s/none');
        await own.stop();
        const r = await new Agent(app.url).post('/s/cors-write');
        expect(r.status).toBe(503);
        expect(r.body).toMatchObject({ code: 'TIDYKV_UNAVAILABLE' });
        expect(r.headers['access-control-allow-origin']).toBe('https://app.example');
      } finally {
        await own.close();
      }
    });
  });
});
