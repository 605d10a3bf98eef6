import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { keySlot } from '@tidykv/core';
import { countClientCommands, countCommands, dbSize, eventually, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import { RedisStore } from 'connect-redis';
import type { Redis } from 'ioredis';
import { Browser, captured, LEGACY_SECRET, startLegacyApp, startTidyApp, type LegacyApp, type RunningApp } from './support/legacy-apps.js';

// Migration from express-session + connect-redis (SessionModule `legacy`), against a real
// express-session + connect-redis app logging users in on the same private redis-server.

const legacyCookie = (sid: string, secret = LEGACY_SECRET): string =>
  encodeURIComponent(`s:${sid}.${createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')}`);
const newSid = (): string => randomBytes(24).toString('base64url');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A legacy session as connect-redis stores it (what express-session's JSON.stringify gives). */
function legacyJson(attributes: Record<string, unknown>, maxAgeMs = 600_000, savedAt = Date.now()): string {
  return JSON.stringify({ cookie: { originalMaxAge: maxAgeMs, expires: new Date(savedAt + maxAgeMs).toISOString(), httpOnly: true, path: '/', sameSite: 'lax' }, ...attributes });
}

describe('@tidykv/session migration from express-session + connect-redis', () => {
  let redis: RedisTestServer;
  let probe: Redis;
  let legacy: LegacyApp;
  let tidy: RunningApp;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    probe = redis.client();
    legacy = await startLegacyApp(redis.client(), { maxAgeMs: 600_000 });
    tidy = await startTidyApp({ connection: { url: redis.url }, idleTimeoutMs: 60_000, touchIntervalMs: 10_000 });
  });
  afterAll(async () => {
    await tidy?.close();
    await legacy?.close();
    await redis?.close();
  });
  beforeEach(async () => {
    await probe.flushall();
  });

  /** A user logged in on the old app, who counted `visits` visits there. */
  async function legacyLogin(userId: string, visits = 0, app: RunningApp = legacy): Promise<Browser> {
    const b = new Browser(app.url);
    expect((await b.post('/auth/login', { userId })).status).toBe(200);
    for (let i = 0; i < visits; i++) await b.post('/me/visits');
    return b;
  }

  describe('real express-session logins', () => {
    it('keep their userId and counters on tidykv, under a new cookie that works on its own', async () => {
      const old = await legacyLogin('alice', 3);
      expect((await old.get('/me')).body).toEqual({ userId: 'alice', visits: 3 });
      const legacyKey = `sess:${old.legacySid}`;
      const stored = JSON.parse((await probe.get(legacyKey)) as string) as { cookie: { expires: string; originalMaxAge: number } };

      const b = old.only(tidy.url, 'connect.sid');
      const migrated = await b.get('/me');
      expect(migrated.status).toBe(200);
      expect(migrated.body).toEqual({ userId: 'alice', visits: 3 });
      expect(migrated.set.sid).toMatch(/^[A-Za-z0-9_-]{26}\./);

      // The new cookie alone is the session now.
      const fresh = b.only(tidy.url, 'sid');
      expect((await fresh.get('/me')).body).toEqual({ userId: 'alice', visits: 3 });
      expect((await fresh.post('/me/visits')).body).toEqual({ visits: 4 });
      expect((await fresh.get('/me')).body).toEqual({ userId: 'alice', visits: 4 });
      // express-session's own cookie settings are not an attribute; createdAt is when express-session saved the session.
      const meta = (await fresh.get('/me/meta')).body as { createdAt: number; keys: string[] };
      expect(meta.keys.sort()).toEqual(['userId', 'visits']);
      expect(meta.createdAt).toBe(Date.parse(stored.cookie.expires) - stored.cookie.originalMaxAge);
    });

    it('retire the legacy key, leaving a marker with a TTL, and every key has a TTL', async () => {
      const old = await legacyLogin('bob', 1);
      const legacyKey = `sess:${old.legacySid}`;
      const legacyTtl = await probe.pttl(legacyKey);
      const b = old.only(tidy.url, 'connect.sid');
      expect((await b.get('/me')).status).toBe(200);
      expect(await probe.exists(legacyKey)).toBe(0);
      const keys = await listKeys(probe);
      expect(keys.map((k) => k.type).sort()).toEqual(['hash', 'string']);
      expect(keys.every((k) => k.pttl > 0)).toBe(true);
      const marker = keys.find((k) => k.type === 'string') as { key: string; pttl: number };
      expect(marker.key).toMatch(/^tkv:l:\{[A-Za-z0-9_-]{4}\}[A-Za-z0-9_-]{22}$/);
      // The marker lives as long as the legacy key would have, and names the new session.
      expect(marker.pttl).toBeLessThanOrEqual(legacyTtl);
      expect(marker.pttl).toBeGreaterThan(legacyTtl - 30_000);
      const sessionKey = keys.find((k) => k.type === 'hash')?.key as string;
      const id = await probe.get(marker.key);
      expect(sessionKey).toBe(`tkv:s:{${(id as string).slice(0, 4)}}${(id as string).slice(4)}`);
      // Without a principal the session lives in its legacy key's slot (what one script needs on Cluster).
      expect(keySlot(sessionKey)).toBe(keySlot(legacyKey));
      expect(keySlot(marker.key)).toBe(keySlot(legacyKey));
      // The old app no longer knows the user: a rollback does not bring the legacy session back.
      expect((await old.get('/me')).status).toBe(401);
    });

    it('migrate each of many users into their own session', async () => {
      const olds = await Promise.all(Array.from({ length: 20 }, (_, i) => legacyLogin(`user${i}`, i % 3)));
      const replies = await Promise.all(olds.map((o) => o.only(tidy.url, 'connect.sid').get('/me')));
      replies.forEach((r, i) => expect(r.body).toEqual({ userId: `user${i}`, visits: i % 3 === 0 ? undefined : i % 3 }));
      expect((await listKeys(probe, 'tkv:s:*')).length).toBe(20);
      expect((await listKeys(probe, 'sess:*')).length).toBe(0);
    });

    it('can log in again on tidykv (regenerate) after the migration', async () => {
      const b = (await legacyLogin('carol', 2)).only(tidy.url, 'connect.sid');
      const migrated = await b.get('/me');
      await b.post('/auth/login', { userId: 'carol' });
      expect(b.jar.get('sid')).not.toBe(migrated.set.sid);
      expect((await b.only(tidy.url, 'sid').get('/me')).body).toEqual({ userId: 'carol', visits: 2 });
      expect((await listKeys(probe, 'tkv:s:*')).length).toBe(1);
    });
  });

  describe('cost', () => {
    it('a migrating request sends one extra round trip: MGET, then one script', async () => {
      const b = (await legacyLogin('dave')).only(tidy.url, 'connect.sid');
      const mon = await countClientCommands(redis.client(), () => b.get('/me'));
      expect(mon.result.status).toBe(200);
      expect(mon.commands).toHaveLength(2);
      expect(mon.commands[0]).toMatch(/^mget sess:\S+ tkv:l:\{/i);
      expect(mon.commands[1]).toMatch(/^evalsha /i);
    });

    it('as Redis counts it (every redis.call inside the script included), a migration is 11 commands', async () => {
      const b = (await legacyLogin('dave2')).only(tidy.url, 'connect.sid');
      const c = await countCommands(probe, () => b.get('/me'));
      expect(c.result.status).toBe(200);
      const { eval: ev = 0, evalsha = 0, ...rest } = c.counts;
      expect(ev + evalsha).toBe(1);
      expect(rest).toEqual({ mget: 1, hgetall: 1, get: 2, time: 1, pttl: 1, hset: 1, pexpire: 1, set: 1, del: 1 });
      expect(c.total).toBe(11);
    });

    it('the next request, with the tidykv cookie, is one command for a read', async () => {
      const b = (await legacyLogin('erin')).only(tidy.url, 'connect.sid');
      await b.get('/me');
      const fresh = b.only(tidy.url, 'sid');
      const c = await countCommands(probe, () => fresh.get('/me'));
      expect(c.result.status).toBe(200);
      expect(c.counts).toEqual({ hgetall: 1 });
    });

    it('a request with a tidykv cookie never looks at legacy keys, even when it carries a legacy cookie too', async () => {
      const old = await legacyLogin('frank');
      const b = old.only(tidy.url, 'connect.sid');
      await b.get('/me');
      expect([...b.jar.keys()].sort()).toEqual(['connect.sid', 'sid']);
      const mon = await countClientCommands(redis.client(), () => b.get('/me'));
      expect(mon.commands).toHaveLength(1);
      expect(mon.commands[0]).toMatch(/^hgetall tkv:s:\{/i);
      // Even once the tidykv session is gone (logged out, expired), the legacy cookie is not consulted.
      await b.only(tidy.url, 'sid').post('/auth/logout');
      const after = await countClientCommands(redis.client(), () => b.get('/me'));
      expect(after.result.status).toBe(401);
      expect(after.commands).toHaveLength(1);
      expect(after.commands[0]).toMatch(/tkv:s:\{/);
      expect(after.commands[0]).not.toContain(old.legacySid);
      expect(after.commands[0]).not.toContain('tkv:l:');
    });

    it('a request with no cookie at all, or only unrelated cookies, sends nothing', async () => {
      const none = new Browser(tidy.url);
      const other = new Browser(tidy.url);
      other.jar.set('theme', 'dark');
      const c = await countCommands(probe, async () => [await none.get('/me'), await other.get('/me'), await none.get('/none')]);
      expect(c.result.map((r) => r.status)).toEqual([401, 401, 200]);
      expect(c.total).toBe(0);
    });
  });

  describe('bad cookies', () => {
    it('forged, unsigned and malformed legacy cookies cost 0 Redis commands and give no session', async () => {
      const old = await legacyLogin('grace', 1);
      const sid = old.legacySid;
      const real = legacyCookie(sid);
      const forged = [
        sid, // unsigned
        encodeURIComponent(`s:${sid}`), // no signature
        legacyCookie(sid, 'not the secret'),
        real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A'), // tampered signature
        legacyCookie(newSid()).replace(/^s%3A[^.]+/, `s%3A${sid}`), // another sid's signature
        encodeURIComponent(`s:${sid}.`), // empty signature
        '%ZZ%ZZ', // not URI-decodable
        legacyCookie('x'.repeat(300)), // longer than any sid
        encodeURIComponent(`j:${sid}`), // cookie-parser JSON cookie
      ];
      const c = await countCommands(probe, () =>
        Promise.all(
          forged.map((v) => {
            const b = new Browser(tidy.url);
            b.jar.set('connect.sid', v);
            return b.get('/me');
          }),
        ),
      );
      expect(c.result.map((r) => r.status)).toEqual(forged.map(() => 401));
      expect(c.result.every((r) => r.set.sid === undefined)).toBe(true);
      expect(c.total).toBe(0);
      // The real session is untouched.
      expect((await old.get('/me')).body).toEqual({ userId: 'grace', visits: 1 });
    });
  });

  describe('concurrency', () => {
    it('200 concurrent requests with one legacy cookie end in exactly one tidykv session', async () => {
      const old = await legacyLogin('heidi', 2);
      const replies = await Promise.all(Array.from({ length: 200 }, () => old.only(tidy.url, 'connect.sid').get('/me')));
      expect(replies.filter((r) => r.status !== 200)).toEqual([]);
      expect(new Set(replies.map((r) => JSON.stringify(r.body)))).toEqual(new Set([JSON.stringify({ userId: 'heidi', visits: 2 })]));
      // Every response carries the same new id.
      expect(new Set(replies.map((r) => r.set.sid)).size).toBe(1);
      const keys = await listKeys(probe);
      expect(keys.filter((k) => k.key.startsWith('tkv:s:'))).toHaveLength(1);
      expect(keys.filter((k) => k.key.startsWith('sess:'))).toHaveLength(0);
      expect(keys.every((k) => k.pttl > 0)).toBe(true);
    });

    it('a legacy logout (store.destroy) racing a migration wins unless the migration had already committed (300 races)', async () => {
      // The DEL store.destroy sends tells the order: 1 = the logout found the legacy session (the
      // migration must then have found nothing: the user stays logged out everywhere), 0 = the
      // migration had already retired it (the user was migrated before logging out on the old server).
      const deleted = new Map<string, number>();
      const client = redis.client();
      const spy = new Proxy(client, {
        get(target, prop) {
          if (prop === 'del') {
            return async (keys: string | string[]) => {
              const list = ([] as string[]).concat(keys);
              const n = await target.del(...list);
              deleted.set(list[0], n);
              return n;
            };
          }
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const store = new RedisStore({ client: spy, prefix: 'sess:' });
      const destroy = (sid: string): Promise<number | undefined> =>
        new Promise<void>((resolve, reject) => {
          void store.destroy(sid, (err?: unknown) => (err ? reject(err instanceof Error ? err : new Error('express-session failed', { cause: err })) : resolve()));
        }).then(() => deleted.get(`sess:${sid}`));
      const outcomes = { logoutFirst: 0, migrationFirst: 0 };
      const violations: string[] = [];
      // The logout fires at a random moment within `window` ms of the migrating request; the window
      // adapts to the machine's speed so that both orders keep happening.
      let window = 20;
      for (let round = 0; round < 12; round++) {
        const before = { ...outcomes };
        const olds = await Promise.all(Array.from({ length: 25 }, (_, i) => legacyLogin(`racer${round}-${i}`)));
        await Promise.all(
          olds.map(async (old, i) => {
            const sid = old.legacySid;
            const b = old.only(tidy.url, 'connect.sid');
            const [reply, n] = await Promise.all([b.get('/me'), sleep(Math.random() * window).then(() => destroy(sid))]);
            // Afterwards: the legacy cookie alone, and the new cookie if the migration handed one out.
            const again = await old.only(tidy.url, 'connect.sid').get('/me');
            const withNew = b.jar.has('sid') ? await b.only(tidy.url, 'sid').get('/me') : undefined;
            if (n === 1) {
              outcomes.logoutFirst++;
              if (reply.status !== 401 || again.status !== 401 || withNew !== undefined) violations.push(`racer${round}-${i}: logout won but ${reply.status}/${again.status}/${withNew?.status}`);
            } else if (n === 0) {
              outcomes.migrationFirst++;
              if (reply.status !== 200 || again.status !== 200 || withNew?.status !== 200) violations.push(`racer${round}-${i}: migration won but ${reply.status}/${again.status}/${withNew?.status}`);
            } else violations.push(`racer${round}-${i}: DEL reply ${String(n)}`);
          }),
        );
        if (outcomes.migrationFirst === before.migrationFirst) window *= 2;
        else if (outcomes.logoutFirst === before.logoutFirst) window = Math.max(1, window / 2);
      }
      expect(violations).toEqual([]);
      // Both orders happened, so the race was real.
      expect(outcomes.logoutFirst).toBeGreaterThan(0);
      expect(outcomes.migrationFirst).toBeGreaterThan(0);
      // Sessions (and markers) exist only for users whose migration came first, one each.
      expect((await listKeys(probe, 'tkv:s:*')).length).toBe(outcomes.migrationFirst);
      expect((await listKeys(probe, 'tkv:l:*')).length).toBe(outcomes.migrationFirst);
      expect(await dbSize(probe)).toBe(2 * outcomes.migrationFirst);
    }, 180_000);

    it('a legacy key an old server writes again after a migration and a logout is never migrated a second time', async () => {
      const old = await legacyLogin('ivy', 1);
      const legacyKey = `sess:${old.legacySid}`;
      const value = (await probe.get(legacyKey)) as string;
      const b = old.only(tidy.url, 'connect.sid');
      expect((await b.get('/me')).status).toBe(200);
      expect((await b.only(tidy.url, 'sid').post('/auth/logout')).status).toBe(204);
      // A slow request on an old server, which read the session before the migration, saves it now.
      await probe.set(legacyKey, value, 'PX', 60_000);
      expect((await old.only(tidy.url, 'connect.sid').get('/me')).status).toBe(401);
      expect((await listKeys(probe, 'tkv:s:*')).length).toBe(0);
    });

    it('a logout on tidykv ends the legacy session too, even before the session was read', async () => {
      const old = await legacyLogin('ivan', 1);
      const b = old.only(tidy.url, 'connect.sid');
      expect((await b.post('/auth/logout-unread')).status).toBe(204);
      expect((await old.get('/me')).status).toBe(401);
      expect((await b.get('/me')).status).toBe(401);
      expect(await dbSize(probe)).toBe(0);
    });

    it('a logout on tidykv of a legacy cookie a concurrent request already migrated ends that session', async () => {
      const old = await legacyLogin('judy');
      const tab1 = old.only(tidy.url, 'connect.sid');
      expect((await tab1.get('/me')).status).toBe(200);
      // Another tab, which never received the new cookie, logs out without reading the session.
      const tab2 = old.only(tidy.url, 'connect.sid');
      expect((await tab2.post('/auth/logout-unread')).status).toBe(204);
      expect((await tab1.only(tidy.url, 'sid').get('/me')).status).toBe(401);
      expect((await tab2.get('/me')).status).toBe(401);
      expect((await listKeys(probe, 'tkv:s:*')).length).toBe(0);
    });
  });

  describe('legacy data', () => {
    it('an expired legacy session gives no session and writes nothing', async () => {
      const short = await startLegacyApp(redis.client(), { maxAgeMs: 1_000 });
      try {
        const old = await legacyLogin('kim', 1, short);
        const legacyKey = `sess:${old.legacySid}`;
        expect(await probe.pttl(legacyKey)).toBeGreaterThan(0);
        // Taken now: the jar drops the cookie itself once its 1 s Expires has passed, and this is
        // about a client that still sends it (a skewed clock, a cookie outliving its session).
        const b = old.only(tidy.url, 'connect.sid');
        await eventually(async () => (await probe.exists(legacyKey)) === 0, 10_000, 'the legacy session to expire');
        const c = await countCommands(probe, () => b.get('/me'));
        expect(c.result.status).toBe(401);
        expect(c.result.set.sid).toBeUndefined();
        expect(c.counts).toEqual({ mget: 1 });
        expect(await dbSize(probe)).toBe(0);
      } finally {
        await short.close();
      }
    });

    it('a legacy session whose cookie expired, while its key lingers, gives no session and writes nothing', async () => {
      const sid = newSid();
      const value = legacyJson({ userId: 'leo' }, 60_000, Date.now() - 61_000);
      await probe.set(`sess:${sid}`, value, 'PX', 30_000);
      const b = new Browser(tidy.url);
      b.jar.set('connect.sid', legacyCookie(sid));
      expect((await b.get('/me')).status).toBe(401);
      const keys = await listKeys(probe);
      expect(keys.map((k) => k.key)).toEqual([`sess:${sid}`]);
      expect(await probe.get(`sess:${sid}`)).toBe(value);
    });

    it('a legacy session older than the absolute timeout gives no session and writes nothing', async () => {
      const aged = await startTidyApp({ connection: { url: redis.url }, keyPrefix: 'abs:', absoluteTimeoutMs: 3_600_000 });
      try {
        const sid = newSid();
        // Saved by express-session two hours ago with a 1-day cookie: still valid for the old app.
        await probe.set(`sess:${sid}`, legacyJson({ userId: 'mia' }, 86_400_000, Date.now() - 7_200_000), 'PX', 60_000);
        const b = new Browser(aged.url);
        b.jar.set('connect.sid', legacyCookie(sid));
        expect((await b.get('/me')).status).toBe(401);
        expect((await listKeys(probe)).map((k) => k.key)).toEqual([`sess:${sid}`]);
      } finally {
        await aged.close();
      }
    });

    it("the absolute timeout counts from the legacy session's creation", async () => {
      const aged = await startTidyApp({ connection: { url: redis.url }, keyPrefix: 'abs:', idleTimeoutMs: 3_600_000, touchIntervalMs: 60_000, absoluteTimeoutMs: 7_200_000 });
      try {
        const sid = newSid();
        const savedAt = Date.now() - 5_400_000; // 90 min ago: 30 min of the 2 h absolute timeout left
        await probe.set(`sess:${sid}`, legacyJson({ userId: 'nina' }, 86_400_000, savedAt), 'PX', 60_000);
        const b = new Browser(aged.url);
        b.jar.set('connect.sid', legacyCookie(sid));
        expect((await b.get('/me')).status).toBe(200);
        const [session] = await listKeys(probe, 'abs:s:*');
        expect(session.pttl).toBeLessThanOrEqual(1_800_000);
        expect(session.pttl).toBeGreaterThan(1_800_000 - 60_000);
        expect(((await b.only(aged.url, 'sid').get('/me/meta')).body as { createdAt: number }).createdAt).toBe(savedAt);
      } finally {
        await aged.close();
      }
    });

    it('legacy JSON that does not parse is refused with one warning, no session and nothing written', async () => {
      const sid = newSid();
      await probe.set(`sess:${sid}`, '{"cookie":{"originalMaxAge":60000', 'PX', 60_000);
      const before = captured.warnings.length;
      const b = new Browser(tidy.url);
      b.jar.set('connect.sid', legacyCookie(sid));
      expect((await b.get('/me')).status).toBe(401);
      expect((await b.get('/me')).status).toBe(401);
      const warnings = captured.warnings.slice(before);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`sess:${sid}`);
      expect(warnings[0]).toMatch(/not JSON/);
      expect(warnings[0]).toContain("tidykv-audit scan --match 'sess:*'");
      const keys = await listKeys(probe);
      expect(keys.map((k) => k.key)).toEqual([`sess:${sid}`]);
      expect(keys[0].pttl).toBeGreaterThan(0);
    });

    it.each([
      ['a number JSON reads as Infinity', '{"n":1e999}', /attribute "n".*NaN or Infinity/],
      ['a negative zero', '{"n":-0}', /attribute "n".*decode back equal/],
      ['a __proto__ attribute', '{"__proto__":{"admin":true}}', /"__proto__"/],
      ['a reserved attribute name', '{"#c":"1"}', /"#c"/],
      ['a value that is not an object', '[1,2,3]', /not a JSON object/],
    ])('a legacy session holding %s is refused with a warning, no session and nothing half-written', async (_what, json, why) => {
      const sid = newSid();
      const value = `{"cookie":{"originalMaxAge":60000,"expires":"${new Date(Date.now() + 60_000).toISOString()}"},"userId":"olga",${json.slice(1)}`;
      const stored = json.startsWith('[') ? json : value;
      await probe.set(`sess:${sid}`, stored, 'PX', 60_000);
      const before = captured.warnings.length;
      const b = new Browser(tidy.url);
      b.jar.set('connect.sid', legacyCookie(sid));
      const r = await b.get('/me');
      expect(r.status).toBe(401);
      expect(r.set.sid).toBeUndefined();
      const warnings = captured.warnings.slice(before);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(why);
      expect(await probe.get(`sess:${sid}`)).toBe(stored);
      expect((await listKeys(probe)).map((k) => k.key)).toEqual([`sess:${sid}`]);
    });
  });

  describe('an old server saving the session while it is migrated', () => {
    // An app-owned client whose MGET (the migration's read) lets an old server save the legacy
    // session right after it, before the migration script runs: the compare-and-swap then fails.
    async function racingApp(): Promise<{ app: RunningApp; arm: (key: string, values: string[]) => void }> {
      const client = redis.client({ enableOfflineQueue: true });
      const writer = redis.client();
      let pending: { key: string; values: string[] } | undefined;
      const mget = client.mget.bind(client) as (...keys: string[]) => Promise<(string | null)[]>;
      (client as unknown as { mget: (...keys: string[]) => Promise<(string | null)[]> }).mget = async (...k: string[]) => {
        const r = await mget(...k);
        const next = pending?.key === k[0] ? pending.values.shift() : undefined;
        if (next !== undefined) await writer.set(k[0], next, 'PX', 60_000);
        return r;
      };
      const app = await startTidyApp({ connection: { client }, keyPrefix: 'race:' });
      return { app, arm: (key, values) => (pending = { key, values }) };
    }

    it('retries with the newer value, so the session holds what the old server saved', async () => {
      const { app, arm } = await racingApp();
      try {
        const old = await legacyLogin('rita', 1);
        const legacyKey = `sess:${old.legacySid}`;
        const saved = JSON.parse((await probe.get(legacyKey)) as string) as Record<string, unknown>;
        arm(legacyKey, [JSON.stringify({ ...saved, visits: 2 })]);
        const c = await countCommands(probe, () => old.only(app.url, 'connect.sid').get('/me'));
        expect(c.result.body).toEqual({ userId: 'rita', visits: 2 });
        expect(c.counts.mget).toBe(2);
        expect(await probe.exists(legacyKey)).toBe(0);
        expect((await listKeys(probe, 'race:s:*')).length).toBe(1);
      } finally {
        await app.close();
      }
    });

    it('gives up after three changed reads with no session and nothing written', async () => {
      const { app, arm } = await racingApp();
      try {
        const old = await legacyLogin('rob', 1);
        const legacyKey = `sess:${old.legacySid}`;
        const saved = JSON.parse((await probe.get(legacyKey)) as string) as Record<string, unknown>;
        const values = [2, 3, 4].map((visits) => JSON.stringify({ ...saved, visits }));
        arm(legacyKey, [...values]);
        const r = await old.only(app.url, 'connect.sid').get('/me');
        expect(r.status).toBe(401);
        expect(await probe.get(legacyKey)).toBe(values[2]);
        expect((await listKeys(probe, 'race:*')).length).toBe(0);
        // The next request migrates the value the old server saved last.
        expect((await old.only(app.url, 'connect.sid').get('/me')).body).toEqual({ userId: 'rob', visits: 4 });
      } finally {
        await app.close();
      }
    });
  });

  describe('with the principal index', () => {
    it('a migrated session is listed under its principal, and log-out-everywhere ends it', async () => {
      const indexed = await startTidyApp({ connection: { url: redis.url }, keyPrefix: 'pi:', principal: 'userId', idleTimeoutMs: 60_000 });
      try {
        const old = await legacyLogin('pat', 1);
        const b = old.only(indexed.url, 'connect.sid');
        // Alone first, to count it: the index entry adds ZADD and, for a new member, its prune and expiry.
        const first = await countCommands(probe, () => b.only(indexed.url, 'connect.sid').get('/me'));
        expect(first.result.status).toBe(200);
        expect(first.total).toBe(15);
        expect(first.counts).toMatchObject({ zadd: 1, zremrangebyscore: 1, zrange: 1, pexpireat: 1 });
        const replies = await Promise.all(Array.from({ length: 50 }, () => b.only(indexed.url, 'connect.sid').get('/me')));
        expect(replies.every((r) => r.status === 200)).toBe(true);
        // 50 concurrent migrations of another user: one session, listed once.
        const other = await legacyLogin('pam');
        const racing = await Promise.all(Array.from({ length: 50 }, () => other.only(indexed.url, 'connect.sid').get('/me')));
        expect(racing.every((r) => r.status === 200)).toBe(true);
        expect(new Set(racing.map((r) => r.set.sid)).size).toBe(1);
        expect((await b.get('/principal/pam')).body).toHaveLength(1);
        const listed = (await b.get('/principal/pat')).body as { id: string }[];
        expect(listed).toHaveLength(1);
        expect(first.result.set.sid.startsWith(listed[0].id)).toBe(true);
        expect(new Set(replies.map((r) => r.set.sid))).toEqual(new Set([first.result.set.sid]));
        expect((await listKeys(probe, 'pi:s:*')).length).toBe(2);
        expect(((await b.post('/principal/pat/logout-all')).body as { n: number }).n).toBe(1);
        expect((await b.only(indexed.url, 'sid').get('/me')).status).toBe(401);
        expect((await old.only(indexed.url, 'connect.sid').get('/me')).status).toBe(401);
      } finally {
        await indexed.close();
      }
    });
  });

  describe('a tidykv cookie named like the legacy one', () => {
    it('replaces the legacy cookie on the migrating response', async () => {
      const same = await startTidyApp({ connection: { url: redis.url }, keyPrefix: 'same:', cookie: { name: 'connect.sid' } });
      try {
        const old = await legacyLogin('quinn', 2);
        const b = old.only(same.url, 'connect.sid');
        const legacyValue = b.jar.get('connect.sid');
        const migrated = await b.get('/me');
        expect(migrated.body).toEqual({ userId: 'quinn', visits: 2 });
        expect(b.jar.get('connect.sid')).not.toBe(legacyValue);
        const c = await countCommands(probe, () => b.get('/me'));
        expect(c.result.body).toEqual({ userId: 'quinn', visits: 2 });
        expect(c.counts).toEqual({ hgetall: 1 });
      } finally {
        await same.close();
      }
    });
  });

  describe('expiry', () => {
    it('after every TTL, DBSIZE is 0', async () => {
      const short = await startLegacyApp(redis.client(), { maxAgeMs: 2_000 });
      const brief = await startTidyApp({ connection: { url: redis.url }, idleTimeoutMs: 1_500, touchIntervalMs: 300 });
      try {
        const olds = await Promise.all(Array.from({ length: 10 }, (_, i) => legacyLogin(`ttl${i}`, 1, short)));
        // Plain migrations, a concurrent burst, a logout, a refused session.
        await Promise.all(olds.slice(0, 8).map((o) => o.only(brief.url, 'connect.sid').get('/me')));
        await Promise.all(Array.from({ length: 20 }, () => olds[8].only(brief.url, 'connect.sid').get('/me')));
        await olds[9].only(brief.url, 'connect.sid').post('/auth/logout');
        const bad = newSid();
        await probe.set(`sess:${bad}`, 'not json', 'PX', 2_000);
        const b = new Browser(brief.url);
        b.jar.set('connect.sid', legacyCookie(bad));
        expect((await b.get('/me')).status).toBe(401);
        const keys = await listKeys(probe);
        expect(keys.length).toBeGreaterThan(9);
        expect(keys.every((k) => k.pttl > 0)).toBe(true);
        await eventually(async () => (await dbSize(probe)) === 0, 20_000, 'every key to expire');
      } finally {
        await brief.close();
        await short.close();
      }
    }, 60_000);
  });
});
