import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { TidyKvReply } from '@tidykv/core';
import { countCommands, flushAll, listKeys, startRedis, type RedisTestServer } from '@tidykv/testing';
import { entityScripts } from '../src/internal/entity-scripts.js';
import type { IndexBlock } from '../src/internal/index-blocks.js';

// One test per behaviour of each Lua script in src/lua: the raw reply, the keys left behind,
// their PTTL, and what Redis executed (INFO commandstats, where every redis.call inside the
// script counts next to the EVALSHA). Keys are hand-written in the repository's layout.
describe('repository Lua scripts', () => {
  let server: RedisTestServer;
  let redis: Redis;
  const H = 't:e:{1}';
  const IA = 't:e:idx:u:{a}';
  const IB = 't:e:idx:u:{b}';

  beforeAll(async () => {
    server = await startRedis({ own: true });
    redis = server.client();
    for (const s of Object.values(entityScripts)) s.attach(redis);
    // ioredis sends a script's first call on a connection as EVAL: call each once, so that every
    // call counted below is the EVALSHA of the steady state.
    await entityScripts.save.run(redis, { hash: 'warm', id: 'w', ttlMs: 0, blocks: [], pairs: ['a', '1'] });
    await entityScripts.update.run(redis, { hash: 'warm', id: 'w', ttl: 'keep', blocks: [], pairs: [], removed: [] });
    await entityScripts.deleteMany.run(redis, []);
    await entityScripts.saveFields.run(redis, { hash: 'warm', ttlMs: 0, pairs: ['a', '1'] });
    await entityScripts.updateFields.run(redis, { hash: 'warm', pairs: ['a', '2'], removed: [] });
    await entityScripts.setIndexEntry.run(redis, { index: 'warm-idx', id: 'w', score: 'del' });
  });
  afterAll(() => server.close());
  beforeEach(() => flushAll(redis));

  // A TTL only runs down: PTTL read after the write is at most what the script set, and less by the
  // time in between, which a loaded machine can stretch well past 150 ms. 900 ms still tells every
  // pair of TTLs these tests set apart (they differ by 1 s or more).
  const near = (actual: number, expected: number) => {
    expect(actual).toBeLessThanOrEqual(expected);
    expect(actual).toBeGreaterThan(expected - 900);
  };
  const keys = async () => (await listKeys(redis)).map((k) => [k.key, k.type, k.pttl] as const);
  const block = (newEnc: string, newKey: string | undefined, expectedEnc: string, expectedKey: string | undefined): IndexBlock => ({ field: 'u', newEnc, newKey, expectedEnc, expectedKey });
  const save = (ttlMs: number, blocks: IndexBlock[], pairs: string[]) => entityScripts.save.run(redis, { hash: H, id: '1', ttlMs, blocks, pairs }) as Promise<unknown[]>;
  const update = (ttl: 'keep' | 'persist' | number, blocks: IndexBlock[], pairs: string[], removed: string[] = []) =>
    entityScripts.update.run(redis, { hash: H, id: '1', ttl, blocks, pairs, removed }) as Promise<unknown[]>;

  describe('saveEntity', () => {
    it('writes the hash, its TTL and its first index entry atomically, in the calls its header lists', async () => {
      const { result: r, counts } = await countCommands(redis, () => save(5000, [block('"a"', IA, '', undefined)], ['u', '"a"', 'n', '1']));
      expect(r[0]).toBe(1);
      near(r[1] as number, Date.now() + 5000);
      expect(r[2]).toBe('');
      expect(await redis.hgetall(H)).toEqual({ u: '"a"', n: '1' });
      expect(await redis.zrange(IA, '0', '-1', 'WITHSCORES')).toEqual(['1', String(r[1])]);
      const k = await keys();
      expect(k.map(([key, type]) => [key, type])).toEqual([[IA, 'zset'], [H, 'hash']]);
      // The entity and its index key expire at the same millisecond.
      expect(Math.abs(k[0][2] - k[1][2])).toBeLessThan(5);
      // A new member: the index is pruned and its expiry aligned (ZREMRANGEBYSCORE, ZRANGE, PEXPIREAT).
      expect(counts).toEqual({ evalsha: 1, hmget: 1, hset: 1, hlen: 1, time: 1, pexpireat: 2, zadd: 1, zremrangebyscore: 1, zrange: 1 });
    });

    it('re-saving the same indexed value re-scores the entry with ZADD + PEXPIREAT GT, no prune', async () => {
      await save(5000, [block('"a"', IA, '', undefined)], ['u', '"a"']);
      const { result: r, counts } = await countCommands(redis, () => save(9000, [block('"a"', IA, '"a"', IA)], ['u', '"a"']));
      expect(r[0]).toBe(1);
      near(await redis.pttl(IA), 9000);
      near(await redis.pttl(H), 9000);
      expect(counts).toEqual({ evalsha: 1, hmget: 1, pttl: 1, hset: 1, hlen: 1, time: 1, pexpireat: 2, zadd: 1 });
    });

    it('writes nothing and returns the stored values when a stored indexed value had no key named for it', async () => {
      await save(5000, [block('"a"', IA, '', undefined)], ['u', '"a"', 'n', '1']);
      const r = await save(9000, [block('"b"', IB, '', undefined)], ['u', '"b"']);
      expect(r).toEqual([TidyKvReply.Stale, -1, '"a"']);
      expect(await redis.hgetall(H)).toEqual({ u: '"a"', n: '1' });
      expect(await redis.exists(IB)).toBe(0);
    });

    it('moves the entry when retried with the old key named, and the old index key disappears with its last member', async () => {
      await save(5000, [block('"a"', IA, '', undefined)], ['u', '"a"', 'n', '1']);
      const r = await save(0, [block('"b"', IB, '"a"', IA)], ['u', '"b"']);
      expect(r[0]).toBe(1);
      expect(r[2]).toBe('"a"');
      expect(await redis.hgetall(H)).toEqual({ u: '"b"' });
      const k = await keys();
      expect(k.map(([key]) => key)).toEqual([IB, H]);
      // TTL argument 0 kept the ~5 s the hash had; the new entry follows it.
      for (const [, , pttl] of k) near(pttl, 5000);
    });

    it('replaces a key of another type (another program\'s data) instead of failing', async () => {
      await redis.set(H, 'not a hash', 'PX', 6000);
      const r = await save(0, [block('"a"', IA, '', undefined)], ['u', '"a"']);
      expect(r[0]).toBe(1);
      expect(await redis.hgetall(H)).toEqual({ u: '"a"' });
      near(await redis.pttl(H), 6000);
    });

    it('gives a persistent index key its expiry back when its only inf member gets a TTL', async () => {
      await save(0, [block('"a"', IA, '', undefined)], ['u', '"a"']);
      expect(await redis.zscore(IA, '1')).toBe('inf');
      expect(await redis.pttl(IA)).toBe(-1);
      await save(3000, [block('"a"', IA, '"a"', IA)], ['u', '"a"']);
      near(await redis.pttl(IA), 3000);
      near(await redis.pttl(H), 3000);
    });
  });

  describe('saveFields', () => {
    const saveFields = (ttlMs: number, pairs: string[]) => entityScripts.saveFields.run(redis, { hash: H, ttlMs, pairs });

    it('with TTL 0 keeps the hash\'s TTL with HSET + HLEN only', async () => {
      await redis.hset(H, 'a', '1', 'b', '2');
      await redis.pexpire(H, 7000);
      const { result, counts } = await countCommands(redis, () => saveFields(0, ['a', '3', 'b', '4']));
      expect(result).toBe(1);
      expect(await redis.hgetall(H)).toEqual({ a: '3', b: '4' });
      near(await redis.pttl(H), 7000);
      expect(counts).toEqual({ evalsha: 1, hset: 1, hlen: 1 });
    });

    it('with a TTL sets it with one PEXPIRE', async () => {
      const { counts } = await countCommands(redis, () => saveFields(5000, ['a', '1']));
      near(await redis.pttl(H), 5000);
      expect(counts).toEqual({ evalsha: 1, hset: 1, hlen: 1, pexpire: 1 });
    });

    it('removes the fields the new entity no longer has, keeping the TTL throughout', async () => {
      await redis.hset(H, 'a', '1', 'gone', '2', 'also', '3');
      await redis.pexpire(H, 7000);
      const { counts } = await countCommands(redis, () => saveFields(0, ['a', '9', 'new', '1']));
      expect(await redis.hgetall(H)).toEqual({ a: '9', new: '1' });
      near(await redis.pttl(H), 7000);
      expect(counts).toEqual({ evalsha: 1, hset: 1, hlen: 1, hkeys: 1, hdel: 1 });
    });

    it('creates an entity without TTL when none is given and it had none', async () => {
      await saveFields(0, ['a', '1']);
      expect(await redis.pttl(H)).toBe(-1);
    });

    it('replaces a key of another type (another program\'s data), keeping its TTL', async () => {
      await redis.set(H, 'not a hash', 'PX', 6000);
      await saveFields(0, ['a', '1']);
      expect(await redis.hgetall(H)).toEqual({ a: '1' });
      near(await redis.pttl(H), 6000);
    });
  });

  describe('updateFields', () => {
    const updateFields = (pairs: string[], removed: string[] = []) => entityScripts.updateFields.run(redis, { hash: H, pairs, removed });

    it('never creates a hash, answering GONE after one EXISTS', async () => {
      const { result, counts } = await countCommands(redis, () => updateFields(['x', '1']));
      expect(result).toEqual([TidyKvReply.Gone, -1]);
      expect(await keys()).toEqual([]);
      expect(counts).toEqual({ evalsha: 1, exists: 1 });
    });

    it('sets fields of an existing hash with EXISTS + HSET and keeps its TTL', async () => {
      await redis.hset(H, 'x', '1', 'y', '2');
      await redis.pexpire(H, 4000);
      const { result, counts } = await countCommands(redis, () => updateFields(['x', '9']));
      expect(result).toEqual([1, -1]);
      expect(await redis.hgetall(H)).toEqual({ x: '9', y: '2' });
      near(await redis.pttl(H), 4000);
      expect(counts).toEqual({ evalsha: 1, exists: 1, hset: 1 });
    });

    it('removes fields with one HDEL when it also sets some', async () => {
      await redis.hset(H, 'x', '1', 'y', '2');
      const { counts } = await countCommands(redis, () => updateFields(['x', '9'], ['y']));
      expect(await redis.hgetall(H)).toEqual({ x: '9' });
      expect(counts).toEqual({ evalsha: 1, exists: 1, hset: 1, hdel: 1 });
    });

    it('keeps the key and its TTL through a marker field when every field is removed', async () => {
      await redis.hset(H, 'x', '1');
      await redis.pexpire(H, 3000);
      await updateFields([], ['x']);
      expect(await redis.hgetall(H)).toEqual({ '@': '1' });
      near(await redis.pttl(H), 3000);
    });
  });

  describe('updateEntity', () => {
    it('never creates a hash: a TTL change of a missing entity answers GONE after one PTTL', async () => {
      const { result, counts } = await countCommands(redis, () => update(1000, [block('*', IA, '"a"', IA)], []));
      expect(result).toEqual([TidyKvReply.Gone, -1]);
      expect(await keys()).toEqual([]);
      expect(counts).toEqual({ evalsha: 1, pttl: 1 });
    });

    it('persists an entity without blocks with PTTL + PERSIST', async () => {
      await redis.hset(H, 'x', '1');
      await redis.pexpire(H, 4000);
      const { result, counts } = await countCommands(redis, () => update('persist', [], []));
      expect(result).toEqual([1, -1]);
      expect(await redis.pttl(H)).toBe(-1);
      expect(counts).toEqual({ evalsha: 1, pttl: 1, persist: 1 });
    });

    it('re-scores the entries to +inf on persist, and the index key loses its TTL with the entity', async () => {
      await save(4000, [block('"a"', IA, '', undefined)], ['u', '"a"']);
      const p = await update('persist', [block('*', IA, '"a"', IA)], []);
      expect(p).toEqual([1, -1, '"a"']);
      expect(await redis.zrange(IA, '0', '-1', 'WITHSCORES')).toEqual(['1', 'inf']);
      expect((await keys()).map(([k, , pttl]) => [k, pttl])).toEqual([[IA, -1], [H, -1]]);
    });

    it('gives the index key its TTL back when a persistent entity gets one', async () => {
      await save(0, [block('"a"', IA, '', undefined)], ['u', '"a"']);
      const r = await update(2000, [block('*', IA, '"a"', IA)], []);
      expect(r[0]).toBe(1);
      near(r[1] as number, Date.now() + 2000);
      near(await redis.pttl(IA), 2000);
      near(await redis.pttl(H), 2000);
    });

    it('answers STALE to a keep block that expected a value where none is stored, adding no entry', async () => {
      // What a process whose cache still holds the value sends after another process removed it.
      await save(4000, [block('', undefined, '', undefined)], ['x', '1']);
      const r = await update('persist', [block('*', IA, '"a"', IA)], []);
      expect(r).toEqual([TidyKvReply.Stale, -1, '']);
      expect(await redis.exists(IA)).toBe(0);
      near(await redis.pttl(H), 4000);
    });

    it('moves the entry of a changed indexed value, scored with the entity\'s current expiry', async () => {
      await save(6000, [block('"a"', IA, '', undefined)], ['u', '"a"', 'x', '1']);
      const r = await update('keep', [block('"b"', IB, '"a"', IA)], ['u', '"b"']);
      expect(r[0]).toBe(1);
      expect(await redis.exists(IA)).toBe(0);
      near(Number(await redis.zscore(IB, '1')), Date.now() + 6000);
      expect(await redis.hgetall(H)).toEqual({ u: '"b"', x: '1' });
    });
  });

  describe('deleteEntities', () => {
    const entry = (hash: string, id: string, expected: string, key: string | undefined, guard?: { block: number; enc: string }) => ({
      hash,
      id,
      guard,
      blocks: [block('', undefined, expected, key)],
    });
    const del = (entries: ReturnType<typeof entry>[]) => entityScripts.deleteMany.run(redis, entries) as Promise<unknown[][]>;

    it('answers GONE for a missing entity', async () => {
      expect(await del([entry(H, '1', '', undefined)])).toEqual([[TidyKvReply.Gone, -1]]);
    });

    it('writes nothing and answers STALE with the stored value when it was not named', async () => {
      await save(4000, [block('"a"', IA, '', undefined)], ['u', '"a"']);
      expect(await del([entry(H, '1', '', undefined)])).toEqual([[TidyKvReply.Stale, -1, '"a"']]);
      expect(await redis.exists(H)).toBe(1);
    });

    it('removes the hash and its entry; the index keeps the expiry of its longest-lived remaining member', async () => {
      await save(4000, [block('"a"', IA, '', undefined)], ['u', '"a"']);
      await redis.zadd(IA, String(Date.now() + 60_000), 'other');
      await redis.pexpireat(IA, Date.now() + 60_000);
      const { result, counts } = await countCommands(redis, () => del([entry(H, '1', '"a"', IA)]));
      expect(result).toEqual([[1, -1, '"a"']]);
      expect(await redis.exists(H)).toBe(0);
      expect(await redis.zrange(IA, '0', '-1')).toEqual(['other']);
      near(await redis.pttl(IA), 60_000);
      expect(counts).toEqual({ evalsha: 1, hmget: 1, del: 1, zmscore: 1, zrem: 1, zrange: 1 });
    });

    it('deletes a guarded batch with one DEL, and one ZMSCORE, ZREM and ZRANGE per index key', async () => {
      const hashes = ['t:e:{1}', 't:e:{2}', 't:e:{3}'];
      for (const [i, h] of hashes.entries()) await entityScripts.save.run(redis, { hash: h, id: String(i + 1), ttlMs: 4000, blocks: [block('"a"', IA, '', undefined)], pairs: ['u', '"a"'] });
      const guard = { block: 0, enc: '"a"' };
      const { result, counts } = await countCommands(redis, () => del(hashes.map((h, i) => entry(h, String(i + 1), '"a"', IA, guard))));
      expect(result).toEqual([[1, -1, '"a"'], [1, -1, '"a"'], [1, -1, '"a"']]);
      expect(await keys()).toEqual([]);
      expect(counts).toEqual({ evalsha: 1, hmget: 3, del: 1, zmscore: 1, zrem: 1, zrange: 1 });
    });

    it('leaves a guarded entity that holds another value untouched', async () => {
      await save(4000, [block('"b"', IB, '', undefined)], ['u', '"b"']);
      expect(await del([entry(H, '1', '"a"', IA, { block: 0, enc: '"a"' })])).toEqual([[TidyKvReply.Gone, -1]]);
      expect(await redis.hget(H, 'u')).toBe('"b"');
    });

    it('drops a guarded member whose entity is gone from the guarded index', async () => {
      await redis.zadd(IA, String(Date.now() + 60_000), 'dead', String(Date.now() + 90_000), 'live');
      await redis.pexpireat(IA, Date.now() + 90_000);
      expect(await del([entry('t:e:{dead}', 'dead', '"a"', IA, { block: 0, enc: '"a"' })])).toEqual([[TidyKvReply.Gone, -1]]);
      expect(await redis.zrange(IA, '0', '-1')).toEqual(['live']);
    });

    it('leaves the index key\'s expiry alone when the removed member was not the longest-lived', async () => {
      await save(3000, [block('"a"', IA, '', undefined)], ['u', '"a"']);
      await redis.zadd(IA, String(Date.now() + 8000), 'other');
      await redis.pexpireat(IA, Date.now() + 8000);
      await del([entry(H, '1', '"a"', IA)]);
      near(await redis.pttl(IA), 8000);
    });

    it('gives the index key its expiry back when the removed member was the inf one', async () => {
      await save(0, [block('"a"', IA, '', undefined)], ['u', '"a"']);
      await redis.zadd(IA, String(Date.now() + 5000), 'other');
      expect(await redis.pttl(IA)).toBe(-1);
      await del([entry(H, '1', '"a"', IA)]);
      near(await redis.pttl(IA), 5000);
    });
  });

  describe('setIndexEntry', () => {
    const set = (id: string, score: number | 'inf' | 'del') => entityScripts.setIndexEntry.run(redis, { index: IA, id, score });

    it('adds members and keeps the key expiring with its longest-lived one', async () => {
      const now = Date.now();
      await set('x', now + 2000);
      await set('y', now + 6000);
      near(await redis.pttl(IA), 6000);
      expect(await redis.zcard(IA)).toBe(2);
    });

    it('realigns the key with its longest-lived remaining member when a member is removed or re-scored lower', async () => {
      const now = Date.now();
      await set('x', now + 2000);
      await set('y', now + 6000);
      await set('y', 'del');
      near(await redis.pttl(IA), 2000);
      await set('x', now + 1000);
      near(await redis.pttl(IA), 1000);
    });

    it('makes the key persistent for an inf member, and the last removal deletes the key', async () => {
      await set('z', 'inf');
      expect(await redis.pttl(IA)).toBe(-1);
      await set('z', 'del');
      expect(await keys()).toEqual([]);
    });

    it('prunes members that have already expired when a member joins', async () => {
      const now = Date.now();
      await set('x', now + 5000);
      await set('old', now - 1000);
      expect(await redis.zrange(IA, '0', '-1')).toEqual(['x']);
    });
  });
});
