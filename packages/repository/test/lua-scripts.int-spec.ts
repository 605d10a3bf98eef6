import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { flushAll, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import { attachEntityScripts, runEntityScript } from '../src/internal/entity-scripts.js';

// One test per Lua script in src/lua: the raw reply, the keys left behind and their PTTL.
// Keys here are hand-written in the layout the repository uses.
describe('repository Lua scripts', () => {
  let server: RedisTestServer;
  let redis: Redis;
  const H = 't:e:{1}';
  const IA = 't:e:idx:u:{a}';
  const IB = 't:e:idx:u:{b}';

  beforeAll(async () => {
    server = await startRedis({ own: true });
    redis = server.client();
    attachEntityScripts(redis);
  });
  afterAll(() => server.close());
  beforeEach(() => flushAll(redis));

  const near = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThan(100);
  const keys = async () => (await listKeys(redis)).map((k) => [k.key, k.type, k.pttl] as const);

  it('saveEntity writes hash + TTL + index entry atomically, asks for a retry on an unnamed stored value, and keeps the TTL when told 0', async () => {
    const block = (nw: string, newPos: number, expected: string, oldPos: number) => ['u', nw, newPos, expected, oldPos];
    const r1 = await runEntityScript<unknown[]>(redis, 'saveEntity', [H, IA], ['1', 5000, 1, ...block('"a"', 2, '', 0), 'u', '"a"', 'n', '1']);
    expect(r1[0]).toBe(1);
    near(r1[1] as number, Date.now() + 5000);
    expect(r1[2]).toBe('');
    expect(await redis.hgetall(H)).toEqual({ u: '"a"', n: '1' });
    expect(await redis.zrange(IA, '0', '-1', 'WITHSCORES')).toEqual(['1', String(r1[1])]);
    const k1 = await keys();
    expect(k1.map(([k, t]) => [k, t])).toEqual([[IA, 'zset'], [H, 'hash']]);
    for (const [, , pttl] of k1) near(pttl, 5000);

    // Stored "a" but the caller only named a key for "b": nothing written, stored values returned.
    const r2 = await runEntityScript<unknown[]>(redis, 'saveEntity', [H, IB], ['1', 9000, 1, ...block('"b"', 2, '', 0), 'u', '"b"']);
    expect(r2).toEqual([-1, -1, '"a"']);
    expect(await redis.hget(H, 'u')).toBe('"a"');

    // Retry naming the old key: the entry moves, the old index key disappears with its last member.
    const r3 = await runEntityScript<unknown[]>(redis, 'saveEntity', [H, IB, IA], ['1', 0, 1, ...block('"b"', 2, '"a"', 3), 'u', '"b"']);
    expect(r3[0]).toBe(1);
    expect(r3[2]).toBe('"a"');
    expect(await redis.hgetall(H)).toEqual({ u: '"b"' });
    const k3 = await keys();
    expect(k3.map(([k]) => k)).toEqual([IB, H]);
    // TTL argument 0 kept the ~5 s the hash had; the index follows it.
    for (const [, , pttl] of k3) expect(pttl).toBeGreaterThan(4000);
    for (const [, , pttl] of k3) expect(pttl).toBeLessThanOrEqual(5000);
  });

  it('updateEntity never creates a hash, keeps the TTL, removes fields, and re-scores entries on persist', async () => {
    const missing = await runEntityScript<unknown[]>(redis, 'updateEntity', ['t:e:{none}'], ['none', 'keep', 0, 1, 'x', '1']);
    expect(missing).toEqual([0, -1]);
    expect(await keys()).toEqual([]);

    await runEntityScript(redis, 'saveEntity', [H, IA], ['1', 4000, 1, 'u', '"a"', 2, '', 0, 'u', '"a"', 'x', '1', 'y', '2']);
    const r = await runEntityScript<unknown[]>(redis, 'updateEntity', [H], ['1', 'keep', 0, 1, 'x', '9', 'y']);
    expect(r[0]).toBe(1);
    near(r[1] as number, Date.now() + 4000);
    expect(await redis.hgetall(H)).toEqual({ u: '"a"', x: '9' });
    near(await redis.pttl(H), 4000);

    // 'persist' with a block that keeps the stored value: the index entry is re-scored to +inf.
    const p = await runEntityScript<unknown[]>(redis, 'updateEntity', [H, IA], ['1', 'persist', 1, 'u', '"a"', 2, '"a"', 2, 0]);
    expect(p).toEqual([1, -1, '"a"']);
    expect(await redis.zrange(IA, '0', '-1', 'WITHSCORES')).toEqual(['1', 'inf']);
    expect((await keys()).map(([k, , pttl]) => [k, pttl])).toEqual([[IA, -1], [H, -1]]);

    // Removing every field keeps the key (and so its TTL) alive through a marker field.
    await redis.pexpire(H, 3000);
    await runEntityScript(redis, 'updateEntity', [H], ['1', 'keep', 0, 0, 'u', 'x']);
    expect(await redis.hgetall(H)).toEqual({ '@': '1' });
    near(await redis.pttl(H), 3000);
  });

  it('deleteEntity removes the hash and its index entries, reports missing entities and unnamed stored values', async () => {
    expect(await runEntityScript(redis, 'deleteEntity', [H], ['1', 0])).toEqual([0, -1]);
    await runEntityScript(redis, 'saveEntity', [H, IA], ['1', 4000, 1, 'u', '"a"', 2, '', 0, 'u', '"a"']);
    await redis.zadd(IA, String(Date.now() + 60_000), 'other');
    expect(await runEntityScript(redis, 'deleteEntity', [H], ['1', 1, 'u', '', 0, '', 0])).toEqual([-1, -1, '"a"']);
    expect(await runEntityScript(redis, 'deleteEntity', [H, IA], ['1', 1, 'u', '', 0, '"a"', 2])).toEqual([1, -1, '"a"']);
    expect(await redis.exists(H)).toBe(0);
    expect(await redis.zrange(IA, '0', '-1')).toEqual(['other']);
    // The index expiry stays aligned with its longest-lived remaining member.
    near(await redis.pttl(IA), 60_000);
  });

  it('setIndexEntry adds, re-scores and removes a member and keeps the key expiring with its longest-lived member', async () => {
    const now = Date.now();
    expect(await runEntityScript(redis, 'setIndexEntry', [IA], ['x', now + 2000])).toBe(1);
    expect(await runEntityScript(redis, 'setIndexEntry', [IA], ['y', now + 6000])).toBe(2);
    near(await redis.pttl(IA), 6000);
    expect(await runEntityScript(redis, 'setIndexEntry', [IA], ['y', 'del'])).toBe(1);
    near(await redis.pttl(IA), 2000);
    expect(await runEntityScript(redis, 'setIndexEntry', [IA], ['z', 'inf'])).toBe(2);
    expect(await redis.pttl(IA)).toBe(-1);
    // An already expired member is pruned on the way.
    expect(await runEntityScript(redis, 'setIndexEntry', [IA], ['old', now - 1000])).toBe(2);
    expect(await redis.zrange(IA, '0', '-1')).toEqual(['x', 'z']);
    await runEntityScript(redis, 'setIndexEntry', [IA], ['x', 'del']);
    await runEntityScript(redis, 'setIndexEntry', [IA], ['z', 'del']);
    expect(await keys()).toEqual([]);
  });

  it('findIndex returns the live members in expiry order and prunes the expired ones', async () => {
    const now = Date.now();
    await redis.zadd(IA, String(now - 5000), 'dead', String(now + 9000), 'late', String(now + 3000), 'soon', '+inf', 'forever');
    await redis.pexpire(IA, 9000);
    expect(await runEntityScript(redis, 'findIndex', [IA], [])).toEqual(['soon', 'late', 'forever']);
    expect(await redis.zcard(IA)).toBe(3);
    near(await redis.pttl(IA), 9000);
    expect(await runEntityScript(redis, 'findIndex', ['t:e:idx:u:{none}'], [])).toEqual([]);
    // Reading an index that does not exist creates nothing.
    expect((await keys()).map(([k, t]) => [k, t])).toEqual([[IA, 'zset']]);
  });
});
