import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { RedisConnection, TidyKvScriptError } from '@tidykv/core';
import { countCommands, startRedis, type RedisTestServer } from '@tidykv/testing';
import { inspectKeys, scanInspectStep } from '../src/internal/inspect-script.js';
import { auditScripts, scriptOutcome } from '../src/internal/scripts.js';

// One test per script: the reply, the keys it leaves and their PTTL.
describe('audit Lua scripts', () => {
  let server: RedisTestServer;
  let c: Redis;
  beforeAll(async () => {
    server = await startRedis({ own: true });
    c = server.client();
    auditScripts.attach(c);
  });
  afterAll(() => server.close());

  it('removeDeadMember removes a member only while its target is missing, atomically', async () => {
    await c.sadd('ks', 'dead', 'alive');
    await c.pexpire('ks', 50_000);
    await c.hset('ks:alive', 'f', 'v');
    await c.zadd('zi', 1, 'dead');
    expect(await auditScripts.run(c, 'removeDeadMember', ['ks', 'ks:dead'], ['dead'])).toBe(1);
    expect(await auditScripts.run(c, 'removeDeadMember', ['ks', 'ks:alive'], ['alive'])).toBe(0);
    expect(await auditScripts.run(c, 'removeDeadMember', ['ks', 'ks:dead'], ['dead'])).toBe(-1);
    expect(await auditScripts.run(c, 'removeDeadMember', ['zi', 'zi:dead'], ['dead'])).toBe(1);
    expect(await auditScripts.run(c, 'removeDeadMember', ['nothing', 'x'], ['m'])).toBe(-1);
    expect(await auditScripts.run(c, 'removeDeadMember', ['ks:alive', 'x'], ['m'])).toBe(-2);
    expect(await c.smembers('ks')).toEqual(['alive']);
    // The index keeps its TTL; an emptied zset is deleted by Redis itself.
    const pttl = await c.pttl('ks');
    expect(pttl).toBeGreaterThan(40_000);
    expect(pttl).toBeLessThanOrEqual(50_000);
    expect(await c.exists('zi')).toBe(0);
    expect(await c.pttl('ks:alive')).toBe(-1);
  });

  it("removeExpiredMembers removes members whose score is still before the server's TIME", async () => {
    const [sec, usec] = await c.time();
    const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    await c.zadd('exp', now - 1000, 'old', now + 60_000, 'fresh', now - 5, 'refreshed');
    await c.pexpire('exp', 120_000);
    // "refreshed" was seen expired, then its score moved into the future before the removal.
    await c.zadd('exp', now + 90_000, 'refreshed');
    expect(await auditScripts.run(c, 'removeExpiredMembers', ['exp'], ['old', 'refreshed', 'missing'])).toEqual([1, 0, -1]);
    expect(await c.zrange('exp', '0', '-1')).toEqual(['fresh', 'refreshed']);
    const pttl = await c.pttl('exp');
    expect(pttl).toBeGreaterThan(110_000);
    expect(pttl).toBeLessThanOrEqual(120_000);
    await c.set('str', 'x');
    expect(await auditScripts.run(c, 'removeExpiredMembers', ['str'], ['a'])).toBe(-2);
  });

  it('unlinkPartialHash unlinks a hash only while it lacks the field', async () => {
    await c.hset('s:partial', 'lastAccessedTime', '1');
    await c.hset('s:complete', 'creationTime', '1', 'lastAccessedTime', '1');
    await c.pexpire('s:complete', 30_000);
    await c.set('s:string', 'x');
    expect(await auditScripts.run(c, 'unlinkPartialHash', ['s:partial'], ['creationTime'])).toBe(1);
    expect(await auditScripts.run(c, 'unlinkPartialHash', ['s:complete'], ['creationTime'])).toBe(0);
    expect(await auditScripts.run(c, 'unlinkPartialHash', ['s:partial'], ['creationTime'])).toBe(-1);
    expect(await auditScripts.run(c, 'unlinkPartialHash', ['s:string'], ['creationTime'])).toBe(-2);
    expect(await c.exists('s:partial')).toBe(0);
    expect(await c.hgetall('s:complete')).toEqual({ creationTime: '1', lastAccessedTime: '1' });
    const pttl = await c.pttl('s:complete');
    expect(pttl).toBeGreaterThan(20_000);
    expect(pttl).toBeLessThanOrEqual(30_000);
  });

  it('unlinkIfTargetMissing unlinks a helper key only while its main key is missing (and, if asked, it has no TTL)', async () => {
    await c.sadd('p:1:idx', 'p:lastname:x');
    await c.sadd('p:2:idx', 'p:lastname:x');
    await c.hset('p:2', 'id', '2');
    await c.hset('p:3:phantom', 'id', '3');
    await c.pexpire('p:3:phantom', 40_000);
    expect(await auditScripts.run(c, 'unlinkIfTargetMissing', ['p:1:idx', 'p:1'], ['0'])).toBe(1);
    expect(await auditScripts.run(c, 'unlinkIfTargetMissing', ['p:2:idx', 'p:2'], ['0'])).toBe(0);
    expect(await auditScripts.run(c, 'unlinkIfTargetMissing', ['p:3:phantom', 'p:3'], ['1'])).toBe(0);
    expect(await auditScripts.run(c, 'unlinkIfTargetMissing', ['p:1:idx', 'p:1'], ['0'])).toBe(-1);
    expect(await c.exists('p:1:idx')).toBe(0);
    expect(await c.smembers('p:2:idx')).toEqual(['p:lastname:x']);
    expect(await c.pttl('p:2:idx')).toBe(-1);
    const pttl = await c.pttl('p:3:phantom');
    expect(pttl).toBeGreaterThan(30_000);
    expect(pttl).toBeLessThanOrEqual(40_000);
  });

  it('inspectKeys reports TYPE, PTTL and length of a batch read-only and its own run time, also after SCRIPT FLUSH, and writes nothing', async () => {
    await c.set('i:str', 'v'.repeat(7), 'PX', 30_000);
    await c.hset('i:hash', 'f', 'v', 'g', 'w');
    await c.rpush('i:list', 'a', 'b', 'c');
    await c.script('FLUSH');
    const conn = RedisConnection.create({ url: server.url });
    try {
      const node = { id: `${server.host}:${server.port}`, client: conn.client as Redis };
      const keys = ['i:str', 'i:hash', 'i:list', 'i:missing'];
      // After SCRIPT FLUSH the EVALSHA_RO gets NOSCRIPT and the call is sent again as EVAL_RO.
      const { result: first, counts } = await countCommands(c, () => inspectKeys(conn, node, keys, { script: true, lengths: true }));
      expect(counts.evalsha_ro).toBe(1);
      expect(counts.eval_ro).toBe(1);
      expect(counts['script|load'] ?? 0).toBe(0);
      expect(first.keys.map((k) => [k.type, k.length])).toEqual([
        ['string', 7],
        ['hash', 2],
        ['list', 3],
        ['none', 0],
      ]);
      expect(first.keys.map((k) => k.pttl).slice(1)).toEqual([-1, -1, -2]);
      expect(first.keys[0].pttl).toBeGreaterThan(20_000);
      expect(first.keys[0].pttl).toBeLessThanOrEqual(30_000);
      expect(first.serverUs).toBeGreaterThanOrEqual(0);
      // EVAL_RO cached the script: the next call goes by SHA alone; without lengths the reply is shorter.
      const { result: second, counts: again } = await countCommands(c, () => inspectKeys(conn, node, keys, { script: true, lengths: false }));
      expect(again.eval_ro ?? 0).toBe(0);
      expect(second.keys.map((k) => [k.type, k.pttl, k.length])).toEqual([
        ['string', second.keys[0].pttl, undefined],
        ['hash', -1, undefined],
        ['list', -1, undefined],
        ['none', -2, undefined],
      ]);
      // The pipelined path (Cluster, Redis < 7) gives the same answers.
      const piped = await inspectKeys(conn, node, keys, { script: false, lengths: true });
      expect(piped.keys.map((k) => [k.type, k.length])).toEqual(first.keys.map((k) => [k.type, k.length]));
      expect(piped.serverUs).toBeUndefined();
    } finally {
      await conn.close();
    }
    expect(await c.exists('i:missing')).toBe(0);
    expect(await c.pttl('i:hash')).toBe(-1);
  });

  it('inspectKeys still reports a cost when the ACL user may not run TIME (timed from outside)', async () => {
    await c.call('ACL', 'SETUSER', 'reader', 'on', '>reader-pw', '~*', '-@all', '+@read', '+@connection', '+evalsha_ro', '+eval_ro');
    const conn = RedisConnection.create({ url: `redis://reader:reader-pw@${server.host}:${server.port}` });
    try {
      const node = { id: `${server.host}:${server.port}`, client: conn.client as Redis };
      const r = await inspectKeys(conn, node, ['i:str', 'i:missing'], { script: true, lengths: true });
      expect(r.keys.map((k) => k.type)).toEqual(['string', 'none']);
      expect(r.serverUs).toBeGreaterThan(0);
    } finally {
      await conn.close();
    }
  });

  it('scanInspect walks the keyspace in self-timed steps: each step one SCAN and the reads of its keys, read-only', async () => {
    const seeded = new Map<string, [string, number, boolean]>();
    for (let i = 0; i < 40; i++) {
      const k = `w:${i}`;
      if (i % 4 === 0) {
        await c.hset(k, 'a', '1', 'b', '2', 'c', '3');
        seeded.set(k, ['hash', 3, false]);
      } else if (i % 4 === 1) {
        await c.sadd(k, 'x', 'y');
        seeded.set(k, ['set', 2, false]);
      } else {
        await c.set(k, 'v'.repeat(i), 'PX', 60_000);
        seeded.set(k, ['string', i, true]);
      }
    }
    await c.set('other:1', 'not matched');
    const before = await c.dbsize();
    const conn = RedisConnection.create({ url: server.url });
    try {
      const node = { id: `${server.host}:${server.port}`, client: conn.client as Redis };
      const walk = async (type?: string) => {
        const got = new Map<string, { type: string; pttl: number; length?: number }>();
        let cursor = '0';
        let steps = 0;
        const { counts } = await countCommands(c, async () => {
          do {
            const step = await scanInspectStep(conn, node, { cursor, count: 7, match: 'w:*', type, lengths: true });
            expect(step.serverUs).toBeGreaterThanOrEqual(0);
            for (const k of step.keys) got.set(k.key, k);
            cursor = step.next;
            steps++;
          } while (cursor !== '0');
        });
        return { got, steps, counts };
      };
      const all = await walk();
      expect([...all.got.keys()].sort()).toEqual([...seeded.keys()].sort());
      for (const [k, [type, length, ttl]] of seeded) {
        const r = all.got.get(k)!;
        expect([r.type, r.length]).toEqual([type, length]);
        if (ttl) expect(r.pttl).toBeGreaterThan(50_000);
        else expect(r.pttl).toBe(-1);
      }
      // One round trip per step: SCAN runs inside the script, once per call (commandstats counts it).
      // (The first EVALSHA_RO may meet NOSCRIPT and be sent again once as EVAL_RO.)
      expect(all.counts.evalsha_ro).toBe(all.steps);
      expect(all.counts.eval_ro ?? 0).toBeLessThanOrEqual(1);
      expect(all.counts.scan).toBe(all.steps);
      expect(all.counts.type).toBe(seeded.size);
      expect(all.counts.pttl).toBe(seeded.size);
      expect(all.steps).toBeGreaterThan(1);
      // The TYPE filter is SCAN's own.
      const hashes = await walk('hash');
      expect([...hashes.got.values()].every((k) => k.type === 'hash')).toBe(true);
      expect(hashes.got.size).toBe(10);
    } finally {
      await conn.close();
    }
    expect(await c.dbsize()).toBe(before);
    expect(await c.pttl('w:0')).toBe(-1);
  });

  it('scanInspect still reports a cost when the ACL user may not run TIME (timed from outside)', async () => {
    await c.call('ACL', 'SETUSER', 'scanner', 'on', '>scanner-pw', '~*', '-@all', '+@read', '+@connection', '+evalsha_ro', '+eval_ro');
    await c.set('w:acl', 'v');
    const conn = RedisConnection.create({ url: `redis://scanner:scanner-pw@${server.host}:${server.port}` });
    try {
      const node = { id: `${server.host}:${server.port}`, client: conn.client as Redis };
      let cursor = '0';
      const seen: string[] = [];
      let timed = true;
      do {
        const step = await scanInspectStep(conn, node, { cursor, count: 100, match: 'w:acl', lengths: false });
        timed &&= step.serverUs > 0;
        seen.push(...step.keys.map((k) => `${k.key} ${k.type} ${k.length}`));
        cursor = step.next;
      } while (cursor !== '0');
      expect(seen).toEqual(['w:acl string undefined']);
      expect(timed).toBe(true);
    } finally {
      await conn.close();
    }
  });

  it('maps every documented reply in one place and rejects unknown ones', () => {
    expect(scriptOutcome('removeDeadMember', 1)).toBe('done');
    expect(scriptOutcome('removeDeadMember', 0)).toBe('kept');
    expect(scriptOutcome('removeDeadMember', -1)).toBe('gone');
    expect(scriptOutcome('removeDeadMember', -2)).toBe('wrong-type');
    expect(() => scriptOutcome('unlinkIfTargetMissing', -2)).toThrow(TidyKvScriptError);
    expect(() => scriptOutcome('unlinkPartialHash', 'OK')).toThrow(TidyKvScriptError);
  });
});
