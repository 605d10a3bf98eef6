import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LuaScriptSet } from '@tidykv/core';
import * as sources from '../src/lua/scripts.generated.js';
import { listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';

// One test per script: its reply, the keys it leaves and their PTTL. Keys share the hash tag {t1},
// as the store builds them; the index member format is "<26-char id>:<encoded principal>".
const scripts = new LuaScriptSet(sources, 'sessiontest');
const ID1 = 't1aaAAAAAAAAAAAAAAAAAAAAAA';
const ID2 = 't1aaBBBBBBBBBBBBBBBBBBBBBB';
const S1 = 'lua:s:{t1aa}AAAAAAAAAAAAAAAAAAAAAA';
const S2 = 'lua:s:{t1aa}BBBBBBBBBBBBBBBBBBBBBB';
const IDX = 'lua:u:{t1aa}';
const IDLE = 60_000;
const ABS = 3_600_000;

describe('session Lua scripts', () => {
  let server: RedisTestServer;
  let c: Redis;

  beforeAll(async () => {
    server = await startRedis({ own: true });
    c = server.client();
    scripts.attach(c);
  });
  afterAll(async () => {
    await server?.close();
  });

  const create = (key: string, id: string, fields: string[], createdAt = 0, override = 0) =>
    scripts.run<number>(c, 'createSession', [key, IDX], [IDLE, ABS, 'userId', id, createdAt, override, ...fields]);

  it('createSession stores the hash with metadata and a TTL, indexes the principal, and refuses a taken id', async () => {
    await c.flushall();
    const ttl = await create(S1, ID1, ['userId', '"u1"', 'visits', '1']);
    expect(ttl).toBe(IDLE);
    const h = await c.hgetall(S1);
    expect(h).toMatchObject({ userId: '"u1"', visits: '1' });
    // lastAccessedAt is stored as an offset from createdAt: 0 at creation.
    expect(h['#a']).toBe('0');
    expect(Math.abs(Number(h['#c']) - Date.now())).toBeLessThan(5_000);
    expect(await c.zrange(IDX, 0, '-1')).toEqual([`${ID1}:"u1"`]);
    const keys = await listKeys(c, 'lua:*');
    expect(keys.map((k) => k.key)).toEqual([S1, IDX]);
    for (const k of keys) expect(k.pttl).toBeGreaterThan(IDLE - 1000);
    expect(await create(S1, ID1, ['x', '1'])).toBe(-2);
    expect(await c.hget(S1, 'x')).toBeNull();
  });

  it('createSession caps the TTL by the absolute timeout and refuses an elapsed one (-3)', async () => {
    await c.flushall();
    const now = Date.now();
    const ttl = await create(S1, ID1, ['a', '1'], now - ABS + 5_000);
    expect(ttl).toBeGreaterThan(3_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
    expect(await c.pttl(S1)).toBeLessThanOrEqual(5_000);
    expect(await create(S2, ID2, ['a', '1'], now - ABS - 1)).toBe(-3);
    expect(await c.exists(S2)).toBe(0);
  });

  it('loadSession returns every field and touches only when the interval has passed', async () => {
    await c.flushall();
    await create(S1, ID1, ['userId', '"u1"']);
    await c.pexpire(S1, 10_000);
    const created = Number(await c.hget(S1, '#c'));
    await c.hset(S1, '#c', String(created - 5_000));
    // Interval 60 s: not due, so PTTL stays where it was.
    const r1 = await scripts.run<(string | number)[]>(c, 'loadSession', [S1, IDX], [IDLE, ABS, 60_000, 'userId', ID1]);
    expect(r1[1]).toBe(0);
    expect(r1.slice(2)).toEqual(expect.arrayContaining(['userId', '"u1"']));
    expect(await c.pttl(S1)).toBeLessThanOrEqual(10_000);
    // Interval 1 s: due, so lastAccessedAt moves forward and the TTL is re-armed with the index.
    const r2 = await scripts.run<(string | number)[]>(c, 'loadSession', [S1, IDX], [IDLE, ABS, 1_000, 'userId', ID1]);
    expect(r2[1]).toBe(1);
    const a = Number(await c.hget(S1, '#c')) + Number(await c.hget(S1, '#a'));
    expect(a).toBe(r2[0]);
    expect(await c.pttl(S1)).toBeGreaterThan(IDLE - 1_000);
    expect(await c.pttl(IDX)).toBeGreaterThan(IDLE - 1_000);
    expect(Number(await c.zscore(IDX, `${ID1}:"u1"`))).toBe(a + IDLE);
    expect(await scripts.run(c, 'loadSession', [S2, IDX], [IDLE, ABS, 1_000, '', ID2])).toBe(-1);
  });

  it('saveSession applies the delta and re-arms the TTL, never moves lastAccessedAt back, and drops writes to a missing session', async () => {
    await c.flushall();
    await create(S1, ID1, ['userId', '"u1"', 'gone', '1']);
    // lastAccessedAt 100 s in the future (offset from createdAt), as a clock that went back would leave it.
    const future = String(Date.now() + 100_000 - Number(await c.hget(S1, '#c')));
    await c.hset(S1, '#a', future);
    await c.pexpire(S1, 5_000);
    const ttl = await scripts.run<number>(c, 'saveSession', [S1, IDX], [IDLE, ABS, 0, 'userId', ID1, 90_000, 1, 'visits', '2', 'gone']);
    expect(ttl).toBe(90_000);
    const h = await c.hgetall(S1);
    expect(h).toMatchObject({ userId: '"u1"', visits: '2', '#i': '90000', '#a': future });
    expect(h.gone).toBeUndefined();
    expect(await c.pttl(S1)).toBeGreaterThan(89_000);
    // Principal changed: the old member goes, the new one comes in.
    await scripts.run<number>(c, 'saveSession', [S1, IDX], [IDLE, ABS, 0, 'userId', ID1, -1, 1, 'userId', '"u2"']);
    expect(await c.zrange(IDX, 0, '-1')).toEqual([`${ID1}:"u2"`]);
    expect(await scripts.run(c, 'saveSession', [S2, IDX], [IDLE, ABS, 0, 'userId', ID2, -1, 1, 'x', '1'])).toBe(-1);
    expect(await c.exists(S2)).toBe(0);
  });

  it('destroySession deletes the hash and its index member; the emptied index key is gone', async () => {
    await c.flushall();
    await create(S1, ID1, ['userId', '"u1"']);
    expect(await scripts.run(c, 'destroySession', [S1, IDX], ['userId', ID1])).toBe(1);
    expect(await listKeys(c, 'lua:*')).toEqual([]);
    expect(await scripts.run(c, 'destroySession', [S1, IDX], ['userId', ID1])).toBe(0);
  });

  it('renameSession moves data, TTL and index entry to the new id atomically', async () => {
    await c.flushall();
    await create(S1, ID1, ['userId', '"u1"', 'cart', '[1]']);
    const ttl = await scripts.run<number>(c, 'renameSession', [S1, S2, IDX, IDX], [IDLE, ABS, 'userId', ID1, ID2, -1, 1, 'n', '1']);
    expect(ttl).toBe(IDLE);
    expect(await c.exists(S1)).toBe(0);
    expect(await c.hgetall(S2)).toMatchObject({ userId: '"u1"', cart: '[1]', n: '1' });
    expect(await c.zrange(IDX, 0, '-1')).toEqual([`${ID2}:"u1"`]);
    const keys = await listKeys(c, 'lua:*');
    expect(keys.map((k) => k.key)).toEqual([S2, IDX]);
    for (const k of keys) expect(k.pttl).toBeGreaterThan(IDLE - 1_000);
    expect(await scripts.run(c, 'renameSession', [S1, S2, IDX, IDX], [IDLE, ABS, 'userId', ID1, ID2, -1, 0])).toBe(-1);
    await create(S1, ID1, ['a', '1']);
    expect(await scripts.run(c, 'renameSession', [S1, S2, IDX, IDX], [IDLE, ABS, 'userId', ID1, ID2, -1, 0])).toBe(-2);
    expect(await c.exists(S1)).toBe(1);
  });
});
