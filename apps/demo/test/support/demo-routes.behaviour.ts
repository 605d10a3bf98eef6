import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { dbSize, eventually, listKeys } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import type { DemoPlatform } from '../../src/demo.config.js';
import type { DemoClient } from './demo-client.js';
import { startDemo, type DemoHarness } from './demo-harness.js';

interface SessionRow {
  createdAt: string;
  lastAccessedAt: string;
  expiresAt: string;
  current: boolean;
}

interface TokenRow {
  familyId: string;
  issuedAt: string;
  expiresAt: string;
}

/** Every string Redis holds: key names, hash fields and values, set and sorted-set members. */
async function everythingStored(probe: Redis): Promise<string[]> {
  const out: string[] = [];
  for (const k of await listKeys(probe)) {
    out.push(k.key);
    if (k.type === 'hash') out.push(...Object.entries(await probe.hgetall(k.key)).flat());
    else if (k.type === 'zset') out.push(...(await probe.zrange(k.key, '0', '-1')));
    else if (k.type === 'set') out.push(...(await probe.smembers(k.key)));
    else if (k.type === 'string') out.push((await probe.get(k.key)) ?? '');
    else throw new Error(`unexpected key type ${k.type} for ${k.key}`);
  }
  return out;
}

/**
 * Every route of the demo (issue 15's table), run against a real Redis on `platform`. The same
 * suite runs on Express and on Fastify: the app is the same, only the adapter differs.
 */
export function describeDemoRoutes(platform: DemoPlatform): void {
  describe(`demo routes on ${platform}`, () => {
    let h: DemoHarness;
    let probe: Redis;

    beforeAll(async () => {
      h = await startDemo(platform, { SESSION_TTL_SECONDS: '60', REFRESH_TTL_SECONDS: '120' });
      probe = h.probe;
    });
    afterAll(async () => {
      await h?.close();
    });
    beforeEach(async () => {
      await probe.flushall();
    });

    describe('GET /', () => {
      it('serves the HTML page with its inline script allowed by hash and nothing else', async () => {
        const r = await h.client().get('/');
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toMatch(/^text\/html/);
        expect(r.text).toContain('<form id="login-form">');
        expect(r.text).toContain('Log out everywhere');
        expect(r.headers['content-security-policy']).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
        expect(await dbSize(probe)).toBe(0);
      });
    });

    describe('GET /health', () => {
      it('answers 200 {"status":"ok"} with the session and repository connections up', async () => {
        const r = await h.client().get('/health');
        expect(r).toMatchObject({
          status: 200,
          body: { status: 'ok', info: { redis: { status: 'up', connections: { session: { status: 'up' }, repository: { status: 'up' } } } } },
        });
      });
    });

    describe('POST /auth/login', () => {
      it('answers 201 with the userId and a refresh token, and sets the session cookie', async () => {
        const c = h.client();
        const r = await c.post<{ userId: string; refreshToken: string }>('/auth/login', { userId: 'ada' });
        expect(r.status).toBe(201);
        expect(r.body.userId).toBe('ada');
        // 256 bits from the CSPRNG, base64url.
        expect(r.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(r.setCookie[0]).toMatch(/^sid=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
      });

      it('regenerates the session id: the cookie from before the login is worthless afterwards', async () => {
        const c = h.client();
        await c.login('bob');
        const first = c.clone();
        await c.login('bob');
        expect(c.cookie).not.toBe(first.cookie);
        expect((await first.get('/me')).status).toBe(401);
        expect((await c.get('/me')).status).toBe(200);
      });

      it('stores only a hash of the refresh token: the secret appears nowhere in Redis', async () => {
        const c = h.client();
        const token = await c.login('ada');
        const stored = await everythingStored(probe);
        expect(stored.length).toBeGreaterThan(0);
        expect(stored.filter((s) => s.includes(token))).toEqual([]);
      });

      it('gives every key it writes a TTL', async () => {
        await h.client().login('ada');
        const keys = await listKeys(probe);
        // The session and its principal index; the family and its userId index; the token and its two indexes.
        expect(keys).toHaveLength(7);
        for (const k of keys) expect(k.pttl).toBeGreaterThan(0);
      });

      it.each([
        ['a space', 'ada lovelace'],
        ['glob and hash-tag characters', 'a{b}*'],
        ['an empty string', ''],
        ['129 characters', 'a'.repeat(129)],
        ['a number', 42],
        ['nothing', undefined],
      ])('answers 400 naming the userId rule to %s, writing nothing', async (_what, userId) => {
        const r = await h.client().post<{ message: string }>('/auth/login', userId === undefined ? {} : { userId });
        expect(r.status).toBe(400);
        expect(r.body.message).toContain('userId must be 1 to 128 characters from ASCII letters, digits, "_", ".", "@" and "-"');
        expect(await dbSize(probe)).toBe(0);
      });

      it('accepts every character the rule allows', async () => {
        expect((await h.client().post('/auth/login', { userId: 'Ada.Lovelace-1815_x@example.org' })).status).toBe(201);
      });
    });

    describe('GET /me', () => {
      it('answers 200 with the userId of the session', async () => {
        const c = h.client();
        await c.login('ada');
        expect(await c.get('/me')).toMatchObject({ status: 200, body: { userId: 'ada' } });
      });

      it('answers 401 without a session, and creates nothing', async () => {
        expect((await h.client().get('/me')).status).toBe(401);
        expect(await dbSize(probe)).toBe(0);
      });
    });

    describe('POST /me/visits', () => {
      it('answers 200 with a count that goes up by one per request', async () => {
        const c = h.client();
        await c.login('ada');
        for (let i = 1; i <= 3; i++) expect(await c.post('/me/visits')).toMatchObject({ status: 200, body: { visits: i } });
      });

      it('answers 401 without a session, and creates nothing', async () => {
        expect((await h.client().post('/me/visits')).status).toBe(401);
        expect(await dbSize(probe)).toBe(0);
      });

      it('loses no increment: 200 concurrent requests of one session count exactly 200', async () => {
        const c = h.client();
        await c.login('ada');
        const replies = await Promise.all(Array.from({ length: 200 }, () => c.clone().post<{ visits: number }>('/me/visits')));
        expect(replies.map((r) => r.status)).toEqual(Array(200).fill(200));
        // Each value from 1 to 200 handed out exactly once.
        expect(replies.map((r) => r.body.visits).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        expect(await c.post('/me/visits')).toMatchObject({ status: 200, body: { visits: 201 } });
      });

      it('answers 401, never 500, to increments racing a logout, and the session stays gone', async () => {
        const c = h.client();
        await c.login('ada');
        const visits = Array.from({ length: 100 }, () => c.clone().post('/me/visits'));
        const logout = c.clone().post('/auth/logout');
        const replies = await Promise.all([...visits, logout]);
        expect(replies.pop()?.status).toBe(204);
        expect(new Set(replies.map((r) => r.status).filter((s) => s !== 200 && s !== 401))).toEqual(new Set());
        expect((await c.get('/me')).status).toBe(401);
        expect((await listKeys(probe, 'tkv:*')).map((k) => k.key)).toEqual([]);
      });
    });

    describe('POST /auth/refresh', () => {
      it('answers 200 with a new token that works in turn, with no session cookie at all', async () => {
        let token = await h.client().login('ada');
        for (let i = 0; i < 3; i++) {
          const r = await h.client().refresh(token);
          expect(r.status).toBe(200);
          expect(r.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
          expect(r.body.refreshToken).not.toBe(token);
          expect(r.setCookie).toEqual([]);
          token = r.body.refreshToken;
        }
      });

      it('detects reuse: a rotated token presented again gets 401 and revokes its whole family', async () => {
        const c = h.client();
        const t1 = await c.login('ada');
        const t2 = (await c.refresh(t1)).body.refreshToken;
        const reuse = await c.refresh(t1);
        expect(reuse.status).toBe(401);
        expect(reuse.text).toContain('already used');
        // The token the legitimate rotation produced is revoked with the family.
        expect((await c.refresh(t2)).status).toBe(401);
        // The session is not a refresh token: it stays logged in.
        expect((await c.get('/me')).status).toBe(200);
      });

      it('revokes only the family that was reused, not the other logins of the user', async () => {
        const t1 = await h.client().login('ada');
        const other = await h.client().login('ada');
        await h.client().refresh(t1);
        await h.client().refresh(t1);
        expect((await h.client().refresh(other)).status).toBe(200);
      });

      it('leaves no key of a revoked family behind', async () => {
        const c = h.client();
        const t1 = await c.login('ada');
        await c.refresh(t1);
        await c.refresh(t1);
        // What is left is the session and its principal index.
        expect((await listKeys(probe, 'demo:*')).map((k) => k.key)).toEqual([]);
      });

      it('treats concurrent presentations of one token as reuse: every token they produced ends up revoked', async () => {
        const t1 = await h.client().login('ada');
        const replies = await Promise.all(Array.from({ length: 10 }, () => h.client().refresh(t1)));
        expect(replies.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
        expect(replies.filter((r) => r.status !== 200 && r.status !== 401)).toEqual([]);
        for (const r of replies.filter((x) => x.status === 200)) expect((await h.client().refresh(r.body.refreshToken)).status).toBe(401);
        expect((await listKeys(probe, 'demo:*')).map((k) => k.key)).toEqual([]);
      });

      it('answers 401 to a token that was never issued', async () => {
        expect((await h.client().refresh('A'.repeat(43))).status).toBe(401);
        expect((await h.client().refresh('not a token at all')).status).toBe(401);
      });

      it('answers 400 to a body without a refreshToken string', async () => {
        expect((await h.client().post('/auth/refresh', {})).status).toBe(400);
        expect((await h.client().post('/auth/refresh', { refreshToken: 7 })).status).toBe(400);
      });

      it('gives the new token the full REFRESH_TTL_SECONDS', async () => {
        const t1 = await h.client().login('ada');
        await h.client().refresh(t1);
        const tokens = (await listKeys(probe, 'demo:refresh-token:{*')).filter((k) => k.type === 'hash');
        // The new token, and the tombstone that keeps the old one recognisable until it would have expired.
        expect(tokens).toHaveLength(2);
        for (const k of tokens) {
          expect(k.pttl).toBeGreaterThan(110_000);
          expect(k.pttl).toBeLessThanOrEqual(120_000);
        }
      });
    });

    describe('GET /auth/sessions', () => {
      it('lists the live sessions of the user, marks the current one, and never shows a session id', async () => {
        const clients = [h.client(), h.client(), h.client()];
        for (const c of clients) await c.login('ada');
        await h.client().login('bob');
        const r = await clients[1].get<SessionRow[]>('/auth/sessions');
        expect(r.status).toBe(200);
        expect(r.body).toHaveLength(3);
        expect(r.body.map((s) => s.current).filter(Boolean)).toHaveLength(1);
        for (const s of r.body) {
          expect(Object.keys(s).sort()).toEqual(['createdAt', 'current', 'expiresAt', 'lastAccessedAt']);
          expect(Number.isNaN(Date.parse(s.createdAt))).toBe(false);
          expect(Date.parse(s.lastAccessedAt)).toBeGreaterThanOrEqual(Date.parse(s.createdAt));
        }
        const ids = clients.map((c) => decodeURIComponent((c.cookie ?? '').slice('sid='.length)).split('.')[0]);
        for (const id of ids) expect(r.text).not.toContain(id);
      });

      it('marks as current the session of the request that asks', async () => {
        const a = h.client();
        const b = h.client();
        await a.login('ada');
        await b.login('ada');
        const fromA = await a.get<SessionRow[]>('/auth/sessions');
        const fromB = await b.get<SessionRow[]>('/auth/sessions');
        const currentOf = (rows: SessionRow[]) => rows.find((s) => s.current)?.createdAt;
        expect(currentOf(fromA.body)).not.toBe(currentOf(fromB.body));
      });

      it('answers 401 without a session', async () => {
        expect((await h.client().get('/auth/sessions')).status).toBe(401);
      });
    });

    describe('DELETE /auth/sessions', () => {
      let logins: { client: DemoClient; token: string }[];

      beforeEach(async () => {
        logins = [];
        for (let i = 0; i < 3; i++) {
          const client = h.client();
          logins.push({ client, token: await client.login('ada') });
        }
      });

      it('answers 204 and logs out every one of three logins', async () => {
        expect((await logins[0].client.delete('/auth/sessions')).status).toBe(204);
        for (const { client } of logins) expect((await client.get('/me')).status).toBe(401);
      });

      it('revokes every refresh token of the user, rotated ones included', async () => {
        const rotated = (await logins[2].client.refresh(logins[2].token)).body.refreshToken;
        await logins[1].client.delete('/auth/sessions');
        for (const { token } of logins) expect((await h.client().refresh(token)).status).toBe(401);
        expect((await h.client().refresh(rotated)).status).toBe(401);
      });

      it('leaves no key behind: DBSIZE is 0 afterwards', async () => {
        await logins[0].client.refresh(logins[0].token);
        await logins[0].client.post('/tokens');
        await logins[0].client.delete('/auth/sessions');
        expect(await dbSize(probe)).toBe(0);
      });

      it('clears the cookie of the request that asked', async () => {
        const r = await logins[0].client.delete('/auth/sessions');
        expect(r.setCookie[0]).toMatch(/^sid=;/);
        expect(logins[0].client.cookie).toBeUndefined();
      });

      it('leaves the other users logged in, with their tokens', async () => {
        const bob = h.client();
        const token = await bob.login('bob');
        await logins[0].client.delete('/auth/sessions');
        expect(await bob.get('/me')).toMatchObject({ status: 200, body: { userId: 'bob' } });
        expect((await bob.refresh(token)).status).toBe(200);
      });

      it('answers 401 without a session', async () => {
        expect((await h.client().delete('/auth/sessions')).status).toBe(401);
      });
    });

    describe('POST /auth/logout', () => {
      it('answers 204, clears the cookie and ends the session', async () => {
        const c = h.client();
        await c.login('ada');
        const old = c.clone();
        const r = await c.post('/auth/logout');
        expect(r.status).toBe(204);
        expect(c.cookie).toBeUndefined();
        expect((await old.get('/me')).status).toBe(401);
        expect((await listKeys(probe, 'tkv:*')).map((k) => k.key)).toEqual([]);
      });
    });

    describe('/tokens', () => {
      it('POST /tokens issues a token of the logged-in user (201) that refreshes', async () => {
        const c = h.client();
        await c.login('ada');
        const r = await c.post<{ token: string }>('/tokens');
        expect(r.status).toBe(201);
        expect((await c.refresh(r.body.token)).status).toBe(200);
      });

      it('GET /tokens lists the live tokens of the user without their secrets', async () => {
        const c = h.client();
        const fromLogin = await c.login('ada');
        const issued = (await c.post<{ token: string }>('/tokens')).body.token;
        const rotated = (await c.refresh(fromLogin)).body.refreshToken;
        await h.client().login('bob');
        const r = await c.get<TokenRow[]>('/tokens');
        expect(r.status).toBe(200);
        // The login's family (its rotated token, not the used one) and the family of POST /tokens.
        expect(r.body).toHaveLength(2);
        for (const t of r.body) expect(Object.keys(t).sort()).toEqual(['expiresAt', 'familyId', 'issuedAt']);
        for (const secret of [fromLogin, issued, rotated]) expect(r.text).not.toContain(secret);
      });

      it('DELETE /tokens revokes every token of the user (204) and keeps the session', async () => {
        const c = h.client();
        const fromLogin = await c.login('ada');
        const issued = (await c.post<{ token: string }>('/tokens')).body.token;
        expect((await c.delete('/tokens')).status).toBe(204);
        expect((await c.refresh(fromLogin)).status).toBe(401);
        expect((await c.refresh(issued)).status).toBe(401);
        expect(await c.get('/tokens')).toMatchObject({ status: 200, body: [] });
        expect((await c.get('/me')).status).toBe(200);
      });

      it('accepts a userId query naming the logged-in user', async () => {
        const c = h.client();
        await c.login('ada');
        expect((await c.get('/tokens?userId=ada')).status).toBe(200);
      });

      it.each([
        ['POST', '/tokens'],
        ['GET', '/tokens'],
        ['DELETE', '/tokens'],
      ])('%s %s answers 401 without a session', async (method, path) => {
        expect((await h.client().send(method, path)).status).toBe(401);
        expect(await dbSize(probe)).toBe(0);
      });

      it.each([
        ['GET', '/tokens?userId=bob'],
        ['DELETE', '/tokens?userId=bob'],
      ])('%s %s answers 403 for another user, and leaves their tokens alone', async (method, path) => {
        const bob = h.client();
        const bobs = await bob.login('bob');
        const ada = h.client();
        await ada.login('ada');
        expect((await ada.send(method, path)).status).toBe(403);
        expect((await bob.refresh(bobs)).status).toBe(200);
      });

      it('POST /tokens answers 403 to a body naming another user', async () => {
        const c = h.client();
        await c.login('ada');
        expect((await c.post('/tokens', { userId: 'bob' })).status).toBe(403);
      });

      it('answers 400 naming the userId rule to a malformed userId query', async () => {
        const c = h.client();
        await c.login('ada');
        const r = await c.get<{ message: string }>('/tokens?userId=ada%20lovelace');
        expect(r.status).toBe(400);
        expect(r.body.message).toContain('userId must be 1 to 128 characters');
      });
    });
  });

  describe(`demo key expiry on ${platform}`, () => {
    let h: DemoHarness;

    beforeAll(async () => {
      h = await startDemo(platform, { SESSION_TTL_SECONDS: '2', REFRESH_TTL_SECONDS: '3' });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('lets every key expire with short TTLs: DBSIZE is 0 once they have run out', async () => {
      const users = ['ada', 'bob', 'cy'];
      for (const u of users) {
        const c = h.client();
        const token = await c.login(u);
        await c.post('/me/visits');
        await c.post('/tokens');
        const next = (await c.refresh(token)).body.refreshToken;
        await c.refresh(next);
        await c.get('/auth/sessions');
      }
      const keys = await listKeys(h.probe);
      // Sessions, principal indexes, families, live tokens, tombstones and their indexes.
      expect(keys.length).toBeGreaterThan(users.length * 7);
      for (const k of keys) {
        expect(k.pttl).toBeGreaterThan(0);
        expect(k.pttl).toBeLessThanOrEqual(3_000);
      }
      await eventually(async () => (await dbSize(h.probe)) === 0, 20_000, 'every demo key to expire');
      expect(await dbSize(h.probe)).toBe(0);
    }, 40_000);
  });

  describe(`demo under Redis faults on ${platform}`, () => {
    let h: DemoHarness;

    beforeAll(async () => {
      h = await startDemo(platform, { SESSION_TTL_SECONDS: '60' }, { proxy: true });
    });
    afterAll(async () => {
      await h?.close();
    });
    let stopped = false;
    const stopRedis = async (): Promise<void> => {
      stopped = true;
      await h.redis.stop();
    };
    afterEach(async () => {
      h.proxy?.heal();
      if (stopped) await h.redis.start();
      stopped = false;
      await h.probe.call('CLIENT', 'UNPAUSE');
      // Every connection back before the next test: it must not inherit this one's fault.
      await eventually(async () => (await h.client().get('/health')).status === 200, 20_000, 'both tidykv connections to be back');
    });

    const unavailable = { statusCode: 503, code: 'TIDYKV_UNAVAILABLE', message: expect.any(String) as unknown };

    it('GET /health answers 503 naming each connection down while Redis is stopped, and 200 once it is back', async () => {
      await stopRedis();
      const t0 = Date.now();
      const down = await h.client().get('/health');
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(down).toMatchObject({
        status: 503,
        body: { status: 'error', error: { redis: { status: 'down', connections: { session: { status: 'down' }, repository: { status: 'down' } } } } },
      });
      await h.redis.start();
      stopped = false;
      await eventually(async () => (await h.client().get('/health')).status === 200, 20_000, '/health to answer 200 again');
    });

    it('answers 503 TIDYKV_UNAVAILABLE from every handler while Redis is stopped', async () => {
      const c = h.client();
      const token = await c.login('ada');
      await stopRedis();
      const replies = await Promise.all([
        c.get('/me'),
        c.post('/me/visits'),
        c.get('/auth/sessions'),
        c.get('/tokens'),
        h.client().post('/auth/login', { userId: 'bob' }),
        h.client().refresh(token),
      ]);
      for (const r of replies) {
        expect(r.status).toBe(503);
        expect(r.body).toEqual(unavailable);
      }
    });

    it('answers 503 TIDYKV_OUTCOME_UNKNOWN from a handler whose write was sent but not answered', async () => {
      const c = h.client();
      await c.login('ada');
      // The request's session load goes through; the increment after it reaches nothing and gets no reply.
      h.proxy?.inject('tidykv-session', 'blackhole', 1);
      const r = await c.post('/me/visits');
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ statusCode: 503, code: 'TIDYKV_OUTCOME_UNKNOWN', message: expect.any(String) as unknown });
    });

    it('answers 401 TIDYKV_SESSION_GONE to a visit whose session is logged out between its load and its increment', async () => {
      await h.probe.flushall();
      const c = h.client();
      await c.login('ada');
      // The load goes through; the increment waits in the network while another instance logs the user out.
      h.proxy?.inject('tidykv-session', 'hold', 1);
      const visit = c.post('/me/visits');
      await eventually(() => (h.proxy?.heldWrites('tidykv-session') ?? 0) > 0, 10_000, 'the increment to be on its way');
      const sessions = await listKeys(h.probe, 'tkv:s:*');
      expect(sessions).toHaveLength(1);
      const [session] = sessions;
      expect(await h.probe.unlink(session.key)).toBe(1);
      h.proxy?.heal();
      const r = await visit;
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ statusCode: 401, code: 'TIDYKV_SESSION_GONE' });
      expect(await h.probe.exists(session.key)).toBe(0);
    });

    it('answers 503 TIDYKV_OUTCOME_UNKNOWN, with no cookie, when the end-of-request session save is sent but not answered', async () => {
      h.proxy?.inject('tidykv-session', 'blackhole');
      const c = h.client();
      const r = await c.post('/auth/login', { userId: 'ada' });
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ statusCode: 503, code: 'TIDYKV_OUTCOME_UNKNOWN', message: expect.any(String) as unknown });
      expect(r.setCookie).toEqual([]);
    });

    it('answers 503 TIDYKV_UNAVAILABLE, with no cookie, when the end-of-request session save cannot be sent', async () => {
      const c = h.client();
      await c.post('/me/visits'); // nothing: only makes sure both connections exist before one is cut
      h.proxy?.inject('tidykv-session', 'refuse');
      const r = await c.post('/auth/login', { userId: 'ada' });
      expect(r.status).toBe(503);
      expect(r.body).toEqual(unavailable);
      expect(r.setCookie).toEqual([]);
    });
  });
}
