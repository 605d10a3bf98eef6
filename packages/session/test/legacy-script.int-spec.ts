import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { TidyKvKeys, TidyKvReply } from '@tidykv/core';
import { countCommands, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import { migrateLegacySession } from '../src/internal/session-scripts.js';

// The migration script on its own, driven step by step: what happens when a legacy logout, an old
// server's save, a concurrent migration or a re-send lands between the client's read and the swap.

const keys = new TidyKvKeys('tkv:');
const L = 'sess:abc';
const ID = 'TAGxAAAAAAAAAAAAAAAAAAAAAA';
const OTHER = 'TAGxBBBBBBBBBBBBBBBBBBBBBB';
const MARKER = keys.legacyMarker('TAGy', 'd'.repeat(22));
const VALUE = JSON.stringify({ cookie: { originalMaxAge: 60_000 }, userId: 'u1' });

function input(over: Partial<Parameters<typeof migrateLegacySession.call>[0]> = {}): Parameters<typeof migrateLegacySession.call>[0] {
  return {
    legacyKey: L,
    key: keys.session(ID),
    index: keys.principalIndex(ID.slice(0, 4)),
    marker: MARKER,
    legacyValue: VALUE,
    id: ID,
    timeouts: { idleMs: 60_000, absoluteMs: 0 },
    createdAt: 0,
    indexMember: '',
    legacyExpiresAt: 0,
    markerMinMs: 5_000,
    attributes: new Map([['userId', '"u1"']]),
    ...over,
  };
}

describe('migrateLegacySession', () => {
  let redis: RedisTestServer;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis({ own: true });
    client = redis.client();
    migrateLegacySession.attach(client);
  });
  afterAll(async () => {
    await redis?.close();
  });
  beforeEach(async () => {
    await client.flushall();
  });

  it('creates the session, leaves a marker for the legacy key\'s remaining life and deletes the legacy key, in one step', async () => {
    await client.set(L, VALUE, 'PX', 40_000);
    const c = await countCommands(client, () => migrateLegacySession.run(client, input()));
    const [kind, ttl, created, now] = (c.result as number[]).map(Number);
    expect([kind, ttl]).toEqual([1, 60_000]);
    expect(created).toBe(now);
    expect(await client.hgetall(keys.session(ID))).toEqual({ '#c': String(created), '#a': '0', userId: '"u1"' });
    expect(await client.get(MARKER)).toBe(ID);
    expect(await client.pttl(MARKER)).toBeGreaterThan(35_000);
    expect(await client.pttl(MARKER)).toBeLessThanOrEqual(40_000);
    expect(await client.exists(L)).toBe(0);
    // One script (EVAL the first time on a connection, EVALSHA afterwards), and every redis.call
    // inside it counts in INFO commandstats: HGETALL, GET x2, TIME, PTTL, HSET, PEXPIRE, SET, DEL.
    const { eval: ev = 0, evalsha = 0, ...inner } = c.counts;
    expect(ev + evalsha).toBe(1);
    expect(inner).toEqual({ hgetall: 1, get: 2, time: 1, pttl: 1, hset: 1, pexpire: 1, set: 1, del: 1 });
  });

  it('a legacy logout between the read and the swap wins: nothing is written', async () => {
    await client.set(L, VALUE, 'PX', 40_000);
    const read = await client.get(L);
    await client.del(L); // store.destroy on an old server
    expect(await migrateLegacySession.run(client, input({ legacyValue: read as string }))).toBe(TidyKvReply.Gone);
    expect(await listKeys(client)).toEqual([]);
  });

  it('an old server saving the session between the read and the swap makes it stale: nothing is written', async () => {
    await client.set(L, VALUE, 'PX', 40_000);
    const read = await client.get(L);
    await client.set(L, JSON.stringify({ cookie: {}, userId: 'u1', visits: 1 }), 'PX', 40_000);
    expect(await migrateLegacySession.run(client, input({ legacyValue: read as string }))).toBe(TidyKvReply.Stale);
    expect((await listKeys(client)).map((k) => k.key)).toEqual([L]);
  });

  it('a concurrent migration or a re-send joins the session the first one created', async () => {
    await client.set(L, VALUE, 'PX', 40_000);
    await migrateLegacySession.run(client, input());
    await client.hset(keys.session(ID), 'visits', '1');
    const again = (await migrateLegacySession.run(client, input())) as string[];
    expect(Number(again[0])).toBe(2);
    const fields = Object.fromEntries(Array.from({ length: (again.length - 1) / 2 }, (_, i) => [again[1 + 2 * i], again[2 + 2 * i]]));
    expect(fields).toMatchObject({ userId: '"u1"', visits: '1' });
    expect((await listKeys(client)).map((k) => k.key).sort()).toEqual([MARKER, keys.session(ID)].sort());
  });

  it('a migration of a value another migration already took, under another id, points at that id', async () => {
    await client.set(L, VALUE, 'PX', 40_000);
    await migrateLegacySession.run(client, input({ id: OTHER, key: keys.session(OTHER) }));
    expect(await migrateLegacySession.run(client, input())).toEqual([3, OTHER]);
    expect(await client.exists(keys.session(ID))).toBe(0);
  });

  it('a legacy key an old server writes again after the migration and a logout is deleted, never migrated again', async () => {
    await client.set(L, VALUE, 'PX', 40_000);
    await migrateLegacySession.run(client, input());
    await client.del(keys.session(ID)); // logout on tidykv
    await client.set(L, VALUE, 'PX', 40_000); // a slow save on an old server lands afterwards
    expect(await migrateLegacySession.run(client, input())).toBe(TidyKvReply.Gone);
    expect((await listKeys(client)).map((k) => k.key)).toEqual([MARKER]);
  });

  it('an expired legacy cookie or an elapsed absolute timeout writes nothing', async () => {
    await client.set(L, VALUE, 'PX', 40_000);
    expect(await migrateLegacySession.run(client, input({ legacyExpiresAt: Date.now() - 1_000 }))).toBe(TidyKvReply.Expired);
    expect(await migrateLegacySession.run(client, input({ createdAt: Date.now() - 10_000, timeouts: { idleMs: 60_000, absoluteMs: 5_000 } }))).toBe(TidyKvReply.Expired);
    expect((await listKeys(client)).map((k) => k.key)).toEqual([L]);
  });

  it('a legacy key without TTL leaves a marker that lives as long as the session', async () => {
    await client.set(L, VALUE);
    await migrateLegacySession.run(client, input({ timeouts: { idleMs: 20_000, absoluteMs: 0 } }));
    const all = await listKeys(client);
    expect(all.map((k) => k.key).sort()).toEqual([MARKER, keys.session(ID)].sort());
    expect(all.every((k) => k.pttl > 15_000 && k.pttl <= 20_000)).toBe(true);
  });

  it('with the principal index, the index entry is written with the session', async () => {
    await client.set(L, VALUE, 'PX', 40_000);
    await migrateLegacySession.run(client, input({ indexMember: keys.principalMember(ID, '"u1"') }));
    const idx = keys.principalIndex(ID.slice(0, 4));
    expect(await client.zrange(idx, 0, '-1')).toEqual([keys.principalMember(ID, '"u1"')]);
    expect(await client.pttl(idx)).toBeGreaterThan(0);
  });
});
