import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { TidyKvKeys, TidyKvReply } from '@tidykv/core';
import { countCommands, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import type { Redis } from 'ioredis';
import * as scripts from '../src/internal/session-scripts.js';
import { EMPTY_DELTA } from '../src/internal/session-delta.js';
import type { SessionDelta } from '../src/internal/session-repository.js';

// One test per script behaviour: its reply, the keys it leaves and their PTTL, and (where the
// budget matters) the calls Redis counts in INFO commandstats, script-internal calls included.
// Keys come from the real key layout; the index member format is "<26-char id>:<stored principal>".
const keys = new TidyKvKeys('lua:');
const ID1 = 't1aaAAAAAAAAAAAAAAAAAAAAAA';
const ID2 = 't1aaBBBBBBBBBBBBBBBBBBBBBB';
const S1 = keys.session(ID1);
const S2 = keys.session(ID2);
const IDX = keys.principalIndex('t1aa');
const timeouts = { idleMs: 60_000, absoluteMs: 3_600_000 };
const delta = (sets: Record<string, string>, dels: string[] = [], idle: SessionDelta['idle'] = 'keep'): SessionDelta => ({ sets: new Map(Object.entries(sets)), dels: new Set(dels), idle });

describe('session Lua scripts', () => {
  let server: RedisTestServer;
  let c: Redis;

  beforeAll(async () => {
    server = await startRedis({ own: true });
    c = server.client();
    for (const s of scripts.SESSION_SCRIPTS) s.attach(c);
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await c.flushall();
  });

  const create = (id: string, attributes: Record<string, string>, createdAt = 0, idleOverrideMs?: number) =>
    scripts.createSession.run(c, {
      key: keys.session(id),
      index: IDX,
      timeouts,
      createdAt,
      idleOverrideMs,
      indexMember: attributes.userId === undefined ? '' : keys.principalMember(id, attributes.userId),
      attributes: new Map(Object.entries(attributes)),
    }) as Promise<number[] | number>;
  const save = (id: string, createdAt: number, d: SessionDelta, mode: 'lean' | 'full', touchMs = 60_000) =>
    (mode === 'lean'
      ? scripts.saveSessionDelta.run(c, { key: keys.session(id), createdAt, delta: d })
      : scripts.saveSession.run(c, { key: keys.session(id), index: IDX, createdAt, timeouts, touchMs, principalField: 'userId', id, delta: d })) as Promise<number>;
  const createdOf = async (key: string) => Number(await c.hget(key, '#c'));

  describe('createSession', () => {
    it('stores the hash with metadata and a TTL, and indexes the principal', async () => {
      const [ttl, created] = (await create(ID1, { userId: '"u1"', visits: '1' })) as number[];
      expect(ttl).toBe(timeouts.idleMs);
      const h = await c.hgetall(S1);
      expect(h).toMatchObject({ userId: '"u1"', visits: '1', '#c': String(created) });
      // lastAccessedAt is stored as an offset from createdAt: 0 at creation.
      expect(h['#a']).toBe('0');
      expect(Math.abs(created - Date.now())).toBeLessThan(5_000);
      expect(await c.zrange(IDX, 0, '-1')).toEqual([`${ID1}:"u1"`]);
      const left = await listKeys(c, 'lua:*');
      expect(left.map((k) => k.key)).toEqual([S1, IDX]);
      for (const k of left) expect(k.pttl).toBeGreaterThan(timeouts.idleMs - 1000);
    });

    it('is idempotent: a re-send of the same create succeeds and leaves one session', async () => {
      await create(ID1, { userId: '"u1"' });
      const again = (await create(ID1, { userId: '"u1"' })) as number[];
      expect(again[0]).toBe(timeouts.idleMs);
      expect(await c.zcard(IDX)).toBe(1);
      expect((await listKeys(c, 'lua:*')).map((k) => k.key)).toEqual([S1, IDX]);
    });

    it('caps the TTL by the absolute timeout and refuses an elapsed one', async () => {
      const now = Date.now();
      const [ttl] = (await create(ID1, { a: '1' }, now - timeouts.absoluteMs + 5_000)) as number[];
      expect(ttl).toBeGreaterThan(3_000);
      expect(ttl).toBeLessThanOrEqual(5_000);
      expect(await create(ID2, { a: '1' }, now - timeouts.absoluteMs - 1)).toBe(TidyKvReply.Expired);
      expect(await c.exists(S2)).toBe(0);
    });
  });

  describe('loadSession', () => {
    const load = (id: string, touchMs: number) =>
      scripts.loadSession.run(c, { key: keys.session(id), index: IDX, timeouts, touchMs, principalField: 'userId', id }) as Promise<(string | number)[] | number>;

    it('returns every field and leaves the TTL alone when no touch is due', async () => {
      await create(ID1, { userId: '"u1"' });
      await c.pexpire(S1, 10_000);
      const r = (await load(ID1, 60_000)) as (string | number)[];
      expect(r[1]).toBe(0);
      expect(r.slice(2)).toEqual(expect.arrayContaining(['userId', '"u1"']));
      expect(await c.pttl(S1)).toBeLessThanOrEqual(10_000);
    });

    it('touches when the interval has passed: lastAccessedAt, TTL and index entry move together', async () => {
      await create(ID1, { userId: '"u1"' });
      await c.hset(S1, '#c', String((await createdOf(S1)) - 5_000));
      await c.pexpire(S1, 10_000);
      const r = (await load(ID1, 1_000)) as (string | number)[];
      expect(r[1]).toBe(timeouts.idleMs);
      const accessed = (await createdOf(S1)) + Number(await c.hget(S1, '#a'));
      expect(accessed).toBe(r[0]);
      expect(await c.pttl(S1)).toBeGreaterThan(timeouts.idleMs - 1_000);
      expect(await c.pttl(IDX)).toBeGreaterThan(timeouts.idleMs - 1_000);
      expect(Number(await c.zscore(IDX, `${ID1}:"u1"`))).toBe(accessed + timeouts.idleMs);
    });

    it('finds nothing for a missing session', async () => {
      expect(await load(ID2, 1_000)).toBe(TidyKvReply.Gone);
    });

    it('deletes a session past its absolute timeout, with its index entry', async () => {
      await create(ID1, { userId: '"u1"' });
      // Born before the absolute timeout (HSET keeps the TTL, so only the clock says it is dead).
      await c.hset(S1, '#c', String(Date.now() - timeouts.absoluteMs - 1_000));
      expect(await load(ID1, 0)).toBe(TidyKvReply.Expired);
      expect(await c.exists(S1)).toBe(0);
      expect(await c.exists(IDX)).toBe(0);
    });
  });

  describe('saveSessionDelta and saveSession', () => {
    it('lean: writes the delta with one HSET and keeps the TTL', async () => {
      await create(ID1, { userId: '"u1"', gone: '1' });
      await c.pexpire(S1, 30_000);
      const created = await createdOf(S1);
      const { result, counts } = await countCommands(c, () => save(ID1, created, delta({ visits: '2' }), 'lean'));
      expect(result).toBe(0);
      // commandstats: the EVALSHA (or the first EVAL of this connection) and one HSET inside it.
      expect((counts.evalsha ?? 0) + (counts.eval ?? 0)).toBe(1);
      expect(counts.hset).toBe(1);
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(2);
      expect(await c.hgetall(S1)).toMatchObject({ userId: '"u1"', visits: '2', gone: '1', '#c': String(created) });
      expect(await c.pttl(S1)).toBeLessThanOrEqual(30_000);
    });

    it('lean: deletes attributes too (one more call)', async () => {
      await create(ID1, { a: '1', b: '2' });
      expect(await save(ID1, await createdOf(S1), delta({}, ['b']), 'lean')).toBe(0);
      const h = await c.hgetall(S1);
      expect(h.a).toBe('1');
      expect(h.b).toBeUndefined();
    });

    it('lean: a save to a missing session is dropped and leaves no key', async () => {
      const { result, counts } = await countCommands(c, () => save(ID2, 1_700_000_000_000, delta({ x: '1', y: '2' }), 'lean'));
      expect(result).toBe(TidyKvReply.Gone);
      expect(await c.dbsize()).toBe(0);
      // The resurrected hash never outlives the script: HSET then DEL in the same atomic step.
      expect(counts.hset).toBe(1);
      expect(counts.del).toBe(1);
    });

    it('full: re-arms the TTL, applies an idle override and never moves lastAccessedAt back', async () => {
      await create(ID1, { userId: '"u1"', gone: '1' });
      const created = await createdOf(S1);
      // lastAccessedAt 100 s in the future (offset from createdAt), as a clock that went back would leave it.
      const future = String(Date.now() + 100_000 - created);
      await c.hset(S1, '#a', future);
      await c.pexpire(S1, 5_000);
      expect(await save(ID1, created, delta({ visits: '2' }, ['gone'], 90_000), 'full', 0)).toBe(90_000);
      const h = await c.hgetall(S1);
      expect(h).toMatchObject({ userId: '"u1"', visits: '2', '#i': '90000', '#a': future });
      expect(h.gone).toBeUndefined();
      expect(await c.pttl(S1)).toBeGreaterThan(89_000);
      expect(Number(await c.zscore(IDX, `${ID1}:"u1"`))).toBeGreaterThan(Date.now() + 89_000);
    });

    it('full: a principal change moves the index entry', async () => {
      await create(ID1, { userId: '"u1"' });
      await save(ID1, await createdOf(S1), delta({ userId: '"u2"' }), 'full');
      expect(await c.zrange(IDX, 0, '-1')).toEqual([`${ID1}:"u2"`]);
      await save(ID1, await createdOf(S1), delta({}, ['userId']), 'full');
      expect(await c.exists(IDX)).toBe(0);
    });

    it('full: back to the default idle timeout removes the override', async () => {
      await create(ID1, { a: '1' }, 0, 90_000);
      expect(await save(ID1, await createdOf(S1), { ...EMPTY_DELTA, idle: 'default' }, 'full')).toBe(timeouts.idleMs);
      expect(await c.hget(S1, '#i')).toBeNull();
    });

    it('full: a save to a missing session is dropped and writes nothing', async () => {
      expect(await save(ID2, 1, delta({ x: '1' }), 'full')).toBe(TidyKvReply.Gone);
      expect(await c.dbsize()).toBe(0);
    });
  });

  describe('renameSession', () => {
    const rename = (d: SessionDelta = EMPTY_DELTA) =>
      scripts.renameSession.run(c, { oldKey: S1, newKey: S2, oldIndex: IDX, newIndex: IDX, timeouts, principalField: 'userId', oldId: ID1, newId: ID2, delta: d }) as Promise<number[] | number>;

    it('moves data, TTL and index entry to the new id atomically', async () => {
      const [, created] = (await create(ID1, { userId: '"u1"', cart: '[1]' })) as number[];
      const [ttl, keptCreated] = (await rename(delta({ n: '1' }))) as number[];
      expect(ttl).toBe(timeouts.idleMs);
      expect(keptCreated).toBe(created);
      expect(await c.exists(S1)).toBe(0);
      expect(await c.hgetall(S2)).toMatchObject({ userId: '"u1"', cart: '[1]', n: '1' });
      expect(await c.zrange(IDX, 0, '-1')).toEqual([`${ID2}:"u1"`]);
      const left = await listKeys(c, 'lua:*');
      expect(left.map((k) => k.key)).toEqual([S2, IDX]);
      for (const k of left) expect(k.pttl).toBeGreaterThan(timeouts.idleMs - 1_000);
    });

    it('is idempotent: a re-send after the move replies as the first call did', async () => {
      const [, created] = (await create(ID1, { userId: '"u1"' })) as number[];
      await rename();
      const again = (await rename()) as number[];
      expect(again[1]).toBe(created);
      expect(again[0]).toBeGreaterThan(timeouts.idleMs - 1_000);
      expect((await listKeys(c, 'lua:*')).map((k) => k.key)).toEqual([S2, IDX]);
    });

    it('reports a missing old session as gone, writing nothing', async () => {
      expect(await rename()).toBe(TidyKvReply.Gone);
      expect(await c.dbsize()).toBe(0);
    });
  });

  describe('destroySession', () => {
    it('deletes the hash and its index member; the emptied index key is gone', async () => {
      await create(ID1, { userId: '"u1"' });
      expect(await scripts.destroySession.run(c, { key: S1, index: IDX, principalField: 'userId', id: ID1 })).toBe(1);
      expect(await listKeys(c, 'lua:*')).toEqual([]);
      expect(await scripts.destroySession.run(c, { key: S1, index: IDX, principalField: 'userId', id: ID1 })).toBe(0);
    });
  });

  describe('incrementAttribute', () => {
    const incr = (field: string, by: number, key = S1) => scripts.incrementAttribute.run(c, { key, field, by }) as Promise<number[] | number>;

    it('adds atomically, keeps the TTL and costs one HINCRBY once the attribute exists', async () => {
      await create(ID1, { visits: '1' });
      await c.pexpire(S1, 20_000);
      const { result, counts } = await countCommands(c, () => incr('visits', 2));
      expect(result).toEqual([3]);
      expect(counts.hincrby).toBe(1);
      expect(counts.hexists).toBeUndefined();
      expect(await c.pttl(S1)).toBeLessThanOrEqual(20_000);
      expect(await c.pttl(S1)).toBeGreaterThan(0);
    });

    it('creates a missing attribute at the increment', async () => {
      await create(ID1, { a: '1' });
      expect(await incr('visits', 1)).toEqual([1]);
    });

    it('never recreates a missing session', async () => {
      expect(await incr('visits', 1, S2)).toBe(TidyKvReply.Gone);
      expect(await c.dbsize()).toBe(0);
    });

    it('fails on an attribute that holds no integer, writing nothing', async () => {
      await create(ID1, { name: '"ada"' });
      await expect(incr('name', 1)).rejects.toThrow(/not an integer/);
      expect(await c.hget(S1, 'name')).toBe('"ada"');
    });
  });

  describe('incrementAttributeOnce', () => {
    it('applies a re-sent call once and replies with the first value', async () => {
      await create(ID1, { visits: '5' });
      const tokenKey = keys.sessionOperation(ID1, 'tok1');
      const call = () => scripts.incrementAttributeOnce.run(c, { key: S1, tokenKey, field: 'visits', by: 1, rememberMs: 5_000 });
      expect(await call()).toEqual([6]);
      expect(await call()).toEqual([6]);
      expect(await c.hget(S1, 'visits')).toBe('6');
      const pttl = await c.pttl(tokenKey);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(5_000);
    });
  });

  describe('listPrincipalSessions', () => {
    it('returns live members with their expiry and prunes expired ones, by the server clock', async () => {
      await c.zadd(IDX, Date.now() - 1_000, `${ID1}:"u1"`, Date.now() + 60_000, `${ID2}:"u1"`);
      const r = (await scripts.listPrincipalSessions.run(c, { index: IDX })) as string[];
      expect(r[0]).toBe(`${ID2}:"u1"`);
      expect(r).toHaveLength(2);
      expect(await c.zcard(IDX)).toBe(1);
    });
  });

  describe('command budgets as Redis counts them (INFO commandstats, script-internal calls included)', () => {
    const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

    it('createSession: 4 calls, 8 with a principal index entry (the entry and an amortised prune)', async () => {
      expect(total((await countCommands(c, () => create(ID1, { a: '1' }))).counts)).toBe(4);
      await c.flushall();
      expect(total((await countCommands(c, () => create(ID1, { userId: '"u1"' }))).counts)).toBe(8);
    });

    it('loadSession with a due touch: 5 calls, 7 with the principal index', async () => {
      await create(ID1, { a: '1' });
      const load = (id: string) => scripts.loadSession.run(c, { key: keys.session(id), index: IDX, timeouts, touchMs: 0, principalField: 'userId', id });
      await new Promise((r) => setTimeout(r, 5));
      expect(total((await countCommands(c, () => load(ID1))).counts)).toBe(5);
      await create(ID2, { userId: '"u1"' });
      await new Promise((r) => setTimeout(r, 5));
      expect(total((await countCommands(c, () => load(ID2))).counts)).toBe(7);
    });

    it('renameSession: 6 calls, 11 with the principal index', async () => {
      await create(ID1, { a: '1' });
      // A login sets an attribute, so the HSET always runs (without one it runs only when the clock moved).
      const rename = (pf: string) =>
        scripts.renameSession.run(c, { oldKey: S1, newKey: S2, oldIndex: IDX, newIndex: IDX, timeouts, principalField: pf, oldId: ID1, newId: ID2, delta: delta({ n: '1' }) });
      expect(total((await countCommands(c, () => rename(''))).counts)).toBe(6);
      await c.flushall();
      await create(ID1, { userId: '"u1"' });
      expect(total((await countCommands(c, () => rename('userId'))).counts)).toBe(11);
    });
  });
});
