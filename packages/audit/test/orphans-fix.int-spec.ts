import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { RedisConnection } from '@tidykv/core';
import { countCommands, startRedis, type RedisTestServer } from '@tidykv/testing';
import { findOrphans, fixLeaks, renderFixReport, renderOrphanReport, type ChangeLogEntry, type OrphanReport } from '../src/index.js';
import { openAuditServer, type AuditServer } from './audit-server.helper.js';
import { READ_ONLY_COMMANDS, diffSnapshots, merge, send, snapshot, springData, springSession, tidykv, type Cmd, type Seeded } from './seed.helper.js';

function ordersKeyspace(): Seeded {
  // A keyspace with neither phantoms nor :idx sets: found only by probing its members.
  const s: Seeded = { cmds: [], orphanKeys: new Map(), deadMembers: new Map([['orders', new Set<string>()]]) };
  for (let i = 0; i < 100; i++) {
    s.cmds.push(['SADD', 'orders', `o${i}`]);
    if (i % 2 === 0) s.cmds.push(['HSET', `orders:o${i}`, 'total', '10']);
    else s.deadMembers.get('orders')!.add(`o${i}`);
  }
  return s;
}

function noise(): Seeded {
  const s: Seeded = { cmds: [], orphanKeys: new Map(), deadMembers: new Map() };
  for (let i = 0; i < 500; i++) s.cmds.push(['SET', `cache:${i}`, 'v']);
  for (let i = 0; i < 100; i++) s.cmds.push(['SET', `cache:ttl:${i}`, 'v', 'PX', 120_000]);
  // Sets that are not indexes: their members name no keys.
  s.cmds.push(['SADD', 'tags', 'red', 'green'], ['SADD', 'online-users', '1', '2', '3']);
  // The @Indexed set of lastname "idx" looks like an `:idx` helper of entity "lastname"; it is not one.
  s.cmds.push(['SADD', 'persons:lastname:idx', '4500']);
  // Many sets named by id: none is a keyspace, and probing each would cost a round trip apiece.
  for (let i = 0; i < 200; i++) s.cmds.push(['SADD', `item-tags:${i}`, 'a', 'b']);
  return s;
}

function logOf(file: string): ChangeLogEntry[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ChangeLogEntry);
}

function deadTotal(s: Seeded): number {
  return [...s.deadMembers.values()].reduce((n, v) => n + v.size, 0);
}

// The seed is large (about 40,000 keys): under a loaded machine (2 cores shared with other
// suites) a full fix pass took over 30 s, against 3.5 s alone, so the heavy tests get 2 minutes.
describe('orphans and fix on a standalone server', () => {
  let client: Redis;
  let conn: RedisConnection;
  let dir: string;
  let seed: Seeded;
  let audit: AuditServer | undefined;

  beforeAll(async () => {
    audit = await openAuditServer('fix');
    ({ client, conn, dir } = audit);
    seed = merge(
      springSession(10_000, 1000, 200, 30),
      springData('persons', 5000, 4000, { deadIndexed: 400, deadIdx: 300, deadPhantoms: 100 }),
      tidykv(),
      ordersKeyspace(),
      noise(),
    );
    await send(client, seed.cmds);
  }, 60_000);
  afterAll(() => audit?.close());

  it('finds every seeded leak with exact counts, sending read-only commands only', async () => {
    const { result: r, counts } = await countCommands(client, () => findOrphans(conn));
    expect(Object.keys(counts).filter((c) => !READ_ONLY_COMMANDS.has(c))).toEqual([]);
    expect(r.springDataKeyspaces).toEqual(['orders', 'persons']);
    // Probes: only the literally named sets of unknown purpose (tags, online-users, orders); plus
    // one look at the members of each `:idx` candidate whose entity is missing (300 real, 1 look-alike).
    expect(counts.srandmember).toBe(3 + 300 + 1);
    const t = (kind: keyof OrphanReport['totals']) => {
      const x = r.totals[kind];
      return x && { keys: x.keys, deadMembers: x.deadMembers };
    };
    expect(t('spring-session-partial')).toEqual({ keys: 1000, deadMembers: 0 });
    expect(t('spring-session-index')).toEqual({ keys: 50, deadMembers: 200 });
    expect(t('spring-session-expirations')).toEqual({ keys: 1, deadMembers: 30 });
    expect(t('spring-data-keyspace')).toEqual({ keys: 2, deadMembers: 4050 });
    expect(t('spring-data-index')).toEqual({ keys: 10, deadMembers: 400 });
    expect(t('spring-data-idx')).toEqual({ keys: 300, deadMembers: 300 });
    expect(t('spring-data-phantom')).toEqual({ keys: 100, deadMembers: 0 });
    expect(t('index')).toEqual({ keys: 3, deadMembers: 7 });
    expect(r.findingsTotal).toBe(1000 + 50 + 1 + 2 + 10 + 300 + 100 + 3);
    const persons = r.findings.find((f) => f.key === 'persons')!;
    expect(persons).toMatchObject({ kind: 'spring-data-keyspace', members: 5000, deadMembers: 4000, wholeKey: false, pttl: -1 });
    expect(persons.memoryBytes).toBeGreaterThan(10_000);
    const principal = r.findings.find((f) => f.key === 'tkv:u:{Ab3x}')!;
    expect(principal).toMatchObject({ kind: 'index', rule: 'tidykv-session-principal', members: 10, deadMembers: 5 });
    const partial = r.findings.filter((f) => f.kind === 'spring-session-partial');
    expect(new Set(partial.map((f) => f.key))).toEqual(new Set(seed.orphanKeys.get('spring-session-partial')));
    expect(partial.every((f) => f.pttl === -1 && f.wholeKey && f.memoryBytes > 0)).toBe(true);
    expect(renderOrphanReport(r, 'table')).toContain('spring-data-keyspace');
    expect(renderOrphanReport(r, 'csv').trim().split('\n')).toHaveLength(1 + r.findings.length);
  });

  it('a dry run changes nothing and logs what it would do', async () => {
    const before = await snapshot(client);
    const logFile = join(dir, 'dry.jsonl');
    const r = await fixLeaks(conn, { pruneOrphans: true, logFile });
    expect(r.apply).toBe(false);
    expect(r.prune).toMatchObject({ membersRemoved: deadTotal(seed), keysUnlinked: 1400 });
    const after = await snapshot(client);
    expect(diffSnapshots(before, after, new Set(), new Map())).toEqual([]);
    const log = logOf(logFile);
    expect(log).toHaveLength(r.changes);
    expect(log.every((e) => e.applied === false)).toBe(true);
  }, 120_000);

  it('--apply touches exactly the leaked keys and members, and nothing else', async () => {
    const before = await snapshot(client);
    const logFile = join(dir, 'apply.jsonl');
    const r = await fixLeaks(conn, { pruneOrphans: true, apply: true, logFile, count: 500 });
    // `:idx` sets are unlinked whole, so their members count as keys, not as removed members.
    const members = deadTotal(seed);
    expect(r.prune).toMatchObject({ membersRemoved: members, membersKept: 0, membersRestored: 0, keysUnlinked: 1400, keysKept: 0 });
    const after = await snapshot(client);
    const removedKeys = new Set([...seed.orphanKeys.values()].flat());
    expect(diffSnapshots(before, after, removedKeys, seed.deadMembers)).toEqual([]);
    const log = logOf(logFile);
    expect(log.filter((e) => e.action === 'remove-member' && e.result === 'done')).toHaveLength(members);
    expect(new Set(log.filter((e) => e.action === 'unlink').map((e) => e.key))).toEqual(removedKeys);
    expect(log.every((e) => e.applied)).toBe(true);
    expect(renderFixReport(r, 'table')).toContain('APPLIED');

    const again = await findOrphans(conn);
    expect(again.findingsTotal).toBe(0);
  }, 120_000);

  it('--expire sets a TTL with EXPIRE NX on TTL-less keys only, never replacing one', async () => {
    const pttlBefore = await Promise.all(Array.from({ length: 100 }, (_, i) => client.pttl(`cache:ttl:${i}`)));
    const logFile = join(dir, 'expire.jsonl');
    const { result: r, counts } = await countCommands(client, () => fixLeaks(conn, { expireSeconds: 3600, match: 'cache:*', apply: true, logFile }));
    expect(r.expire).toEqual({ seconds: 3600, keysWithoutTtl: 500, expired: 500, skipped: 0 });
    expect(counts.expire).toBe(500);
    for (let i = 0; i < 500; i += 50) {
      const pttl = await client.pttl(`cache:${i}`);
      expect(pttl).toBeGreaterThan(3_500_000);
      expect(pttl).toBeLessThanOrEqual(3_600_000);
    }
    const pttlAfter = await Promise.all(Array.from({ length: 100 }, (_, i) => client.pttl(`cache:ttl:${i}`)));
    pttlAfter.forEach((p, i) => expect(p).toBeLessThanOrEqual(pttlBefore[i]));
    expect(logOf(logFile).filter((e) => e.action === 'expire' && e.result === 'done')).toHaveLength(500);
    // Other key patterns were left alone: the Spring keyspace set still has no TTL.
    expect(await client.pttl('persons')).toBe(-1);
  });
});

describe('--rate on orphans', () => {
  let server: RedisTestServer;
  let conn: RedisConnection;
  beforeAll(async () => {
    server = await startRedis({ own: true });
    conn = RedisConnection.create({ url: server.url });
  });
  afterAll(async () => {
    await conn.close();
    await server.close();
  });

  it('paces keys walked and index members checked together, within 10%', async () => {
    const cmds: Cmd[] = [['SADD', 'kk', ...Array.from({ length: 1000 }, (_, i) => `m${i}`)]];
    for (let i = 0; i < 200; i++) cmds.push(['SET', `plain:${i}`, 'v']);
    await send(server.client(), cmds);
    const rate = 1500;
    const started = performance.now();
    const r = await findOrphans(conn, { rate, springDataKeyspaces: ['kk'], detectSpringDataKeyspaces: false });
    const seconds = (performance.now() - started) / 1000;
    expect(r.totals['spring-data-keyspace']).toMatchObject({ keys: 1, deadMembers: 1000 });
    const observed = (r.keysScanned + 1000) / seconds;
    expect(observed).toBeLessThanOrEqual(rate * 1.1);
    expect(observed).toBeGreaterThanOrEqual(rate * 0.9);
  });
});

describe('an interrupted fix resumed from its checkpoint', () => {
  let client: Redis;
  let conn: RedisConnection;
  let dir: string;
  let audit: AuditServer | undefined;

  beforeAll(async () => {
    audit = await openAuditServer('resume');
    ({ client, conn, dir } = audit);
  });
  afterAll(() => audit?.close());

  it('finishes the job, touching exactly the leaked keys and members', async () => {
    const seed = merge(springData('people', 2000, 1500, { deadIdx: 100 }), springSession(500, 200, 40, 0));
    await send(client, seed.cmds);
    const before = await snapshot(client);
    const checkpoint = join(dir, 'fix.checkpoint.json');
    const logFile = join(dir, 'fix.jsonl');
    const controller = new AbortController();
    let commits = 0;
    const first = await fixLeaks(conn, {
      pruneOrphans: true,
      apply: true,
      count: 100,
      inflight: 1,
      checkpoint,
      logFile,
      signal: controller.signal,
      onProgress: () => {
        if (++commits === 2) controller.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(existsSync(checkpoint)).toBe(true);
    const removedKeys = new Set([...seed.orphanKeys.values()].flat());
    const partway = await snapshot(client);
    const leftover = [...removedKeys].filter((k) => partway.has(k)).length;
    expect(leftover).toBeGreaterThan(0);
    expect(leftover).toBeLessThan(removedKeys.size);

    const second = await fixLeaks(conn, { pruneOrphans: true, apply: true, count: 100, inflight: 1, checkpoint, logFile });
    expect(second.interrupted).toBe(false);
    expect(existsSync(checkpoint)).toBe(false);
    expect(second.prune!.keysUnlinked).toBe(removedKeys.size);
    const after = await snapshot(client);
    expect(diffSnapshots(before, after, removedKeys, seed.deadMembers)).toEqual([]);
    const done = logOf(logFile).filter((e) => e.result === 'done');
    expect(done.filter((e) => e.action === 'unlink')).toHaveLength(removedKeys.size);
    expect(done.filter((e) => e.action === 'remove-member')).toHaveLength(1500 + 40);
  });
});
