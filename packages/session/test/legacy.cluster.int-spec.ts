import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TidyKvConfigError, keySlot } from '@tidykv/core';
import { countCommands, listKeys, startRedisCluster, type RedisTestCluster } from '@tidykv/testing';
import type { Cluster } from 'ioredis';
import { Browser, startLegacyApp, startTidyApp, type LegacyApp, type RunningApp } from './support/legacy-apps.js';

// On Redis Cluster a migration is one script, so every key it touches shares the legacy key's
// slot: the legacy key has no hash tag, so the new session gets a tag chosen for that slot.

describe('@tidykv/session migration from express-session + connect-redis on Redis Cluster', () => {
  let cluster: RedisTestCluster;
  let probe: Cluster;
  let legacy: LegacyApp;
  let tidy: RunningApp;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    probe = cluster.client();
    legacy = await startLegacyApp(cluster.client(), { maxAgeMs: 600_000 });
    tidy = await startTidyApp({ connection: { cluster: { nodes: cluster.seeds } }, idleTimeoutMs: 60_000, touchIntervalMs: 10_000 });
  }, 60_000);
  afterAll(async () => {
    await tidy?.close();
    await legacy?.close();
    await cluster?.close();
  });

  async function legacyLogin(userId: string, visits = 0): Promise<Browser> {
    const b = new Browser(legacy.url);
    expect((await b.post('/auth/login', { userId })).status).toBe(200);
    for (let i = 0; i < visits; i++) await b.post('/me/visits');
    return b;
  }

  it("migrates sessions spread over every master, each into its legacy key's slot", async () => {
    const olds = await Promise.all(Array.from({ length: 30 }, (_, i) => legacyLogin(`user${i}`, 1 + (i % 2))));
    const slots = olds.map((o) => keySlot(`sess:${o.legacySid}`));
    const browsers = olds.map((o) => o.only(tidy.url, 'connect.sid'));
    const replies = await Promise.all(browsers.map((b) => b.get('/me')));
    replies.forEach((r, i) => expect(r.body).toEqual({ userId: `user${i}`, visits: 1 + (i % 2) }));
    const keys = await listKeys(probe);
    expect(keys.filter((k) => k.key.startsWith('sess:'))).toEqual([]);
    expect(keys.every((k) => k.pttl > 0)).toBe(true);
    const sessions = keys.filter((k) => k.key.startsWith('tkv:s:'));
    const markers = keys.filter((k) => k.key.startsWith('tkv:l:'));
    expect(sessions).toHaveLength(30);
    expect(markers).toHaveLength(30);
    // Each user's session and marker sit in their legacy key's slot.
    expect(new Set(sessions.map((k) => keySlot(k.key)))).toEqual(new Set(slots));
    expect(new Set(markers.map((k) => keySlot(k.key)))).toEqual(new Set(slots));
    const perNode = await Promise.all(probe.nodes('master').map((n) => n.dbsize()));
    expect(perNode.every((n) => n > 0)).toBe(true);
    // The new cookies work on their own.
    const again = await Promise.all(browsers.map((b) => b.only(tidy.url, 'sid').get('/me')));
    again.forEach((r, i) => expect(r.body).toEqual({ userId: `user${i}`, visits: 1 + (i % 2) }));
  });

  it('a migrating request is one MGET and one script; the next read is one HGETALL', async () => {
    const old = await legacyLogin('carl', 2);
    const b = old.only(tidy.url, 'connect.sid');
    const c = await countCommands(probe, () => b.get('/me'));
    expect(c.result.body).toEqual({ userId: 'carl', visits: 2 });
    expect(c.counts.mget).toBe(1);
    expect((c.counts.evalsha ?? 0) + (c.counts.eval ?? 0)).toBe(1);
    const fresh = b.only(tidy.url, 'sid');
    const next = await countCommands(probe, () => fresh.get('/me'));
    expect(next.result.body).toEqual({ userId: 'carl', visits: 2 });
    expect(next.counts).toEqual({ hgetall: 1 });
  });

  it('100 concurrent requests with one legacy cookie end in exactly one session', async () => {
    const old = await legacyLogin('dora', 1);
    const sid = old.legacySid;
    const before = new Set((await listKeys(probe, 'tkv:s:*')).map((k) => k.key));
    const replies = await Promise.all(Array.from({ length: 100 }, () => old.only(tidy.url, 'connect.sid').get('/me')));
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    expect(new Set(replies.map((r) => r.set.sid)).size).toBe(1);
    const created = (await listKeys(probe, 'tkv:s:*')).filter((k) => !before.has(k.key));
    const id = replies[0].set.sid.split('.')[0];
    expect(created.map((k) => k.key)).toEqual([`tkv:s:{${id.slice(0, 4)}}${id.slice(4)}`]);
    expect(keySlot(created[0].key)).toBe(keySlot(`sess:${sid}`));
    expect(await probe.exists(`sess:${sid}`)).toBe(0);
  });

  it('refuses to start with the principal index on, naming the option and the fix', async () => {
    const failed = await startTidyApp({ connection: { cluster: { nodes: cluster.seeds } }, keyPrefix: 'p:', principal: 'userId' }).then(
      async (app) => {
        await app.close();
        return undefined;
      },
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(TidyKvConfigError);
    expect((failed as TidyKvConfigError).option).toBe('SessionModule.legacy');
    expect((failed as TidyKvConfigError).message).toMatch(/principal` unset/);
  });
});
