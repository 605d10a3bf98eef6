import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { RedisConnection } from '@tidykv/core';
import { startRedis, type RedisTestServer } from '@tidykv/testing';
import { findOrphans, fixLeaks, renderFixReport, renderOrphanReport } from '../src/index.js';
import { openAuditServer, type AuditServer } from './audit-server.helper.js';
import { send, type Cmd } from './seed.helper.js';

/**
 * A Spring Data keyspace set `refresh` of `dead` ids without a hash and `alive` ids with one, the
 * live ones at random places in the set (so that no run sees the same order of members).
 */
function refreshKeyspace(dead: number, alive: number): { cmds: Cmd[]; aliveIds: Set<string> } {
  const ids = Array.from({ length: dead + alive }, (_, i) => `t${i}`);
  const aliveIds = new Set<string>();
  while (aliveIds.size < alive) aliveIds.add(ids[randomInt(ids.length)]);
  const cmds: Cmd[] = [];
  for (let i = 0; i < ids.length; i += 1000) cmds.push(['SADD', 'refresh', ...ids.slice(i, i + 1000)]);
  for (const id of aliveIds) cmds.push(['HSET', `refresh:${id}`, '_class', 'com.example.RefreshToken', 'id', id]);
  return { cmds, aliveIds };
}

describe('orphans: detection that cannot miss a dead majority by chance', () => {
  let server: RedisTestServer;
  let client: Redis;
  let conn: RedisConnection;

  beforeAll(async () => {
    server = await startRedis({ own: true });
    client = server.client();
    conn = RedisConnection.create({ url: server.url });
  });
  afterAll(async () => {
    await conn.close();
    await server.close();
  });

  it('finds a keyspace set with 99% dead members (32,000 of 32,320) in 10 runs of 10', async () => {
    // With only 20 random members probed, a run saw a live one with probability 1 - 0.99^20 = 18%.
    const found: number[] = [];
    for (let run = 0; run < 10; run++) {
      await client.flushall();
      await send(client, refreshKeyspace(32_000, 320).cmds);
      const r = await findOrphans(conn);
      const refresh = r.findings.find((f) => f.key === 'refresh');
      if (refresh?.kind === 'spring-data-keyspace' && refresh.deadMembers === 32_000 && refresh.members === 32_320) found.push(run);
    }
    expect(found).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }, 120_000);

  it('finds it when a single member of the set is alive', async () => {
    await client.flushall();
    await send(client, refreshKeyspace(5_000, 1).cmds);
    const r = await findOrphans(conn);
    expect(r.springDataKeyspaces).toEqual(['refresh']);
    expect(r.totals['spring-data-keyspace']).toEqual({ keys: 1, deadMembers: 5_000, memoryBytes: expect.any(Number) });
  });

  it('does not take a set whose members name no keys for a keyspace set', async () => {
    await client.flushall();
    await send(client, [['SADD', 'colours', ...Array.from({ length: 3000 }, (_, i) => `c${i}`)], ['SET', 'unrelated', 'x']]);
    const r = await findOrphans(conn);
    expect(r.springDataKeyspaces).toEqual([]);
    expect(r.findingsTotal).toBe(0);
  });
});

describe('orphans: findings ranked over the whole run', () => {
  let server: RedisTestServer;
  let client: Redis;
  let conn: RedisConnection;
  /** Dead members of each of the 60 indexes, a shuffled 1..60. */
  const deadOf = new Map<string, number>();

  beforeAll(async () => {
    server = await startRedis({ own: true });
    client = server.client();
    conn = RedisConnection.create({ url: server.url });
    const counts = Array.from({ length: 60 }, (_, i) => i + 1).sort(() => randomInt(3) - 1);
    const cmds: Cmd[] = [];
    counts.forEach((n, i) => {
      const key = `app:idx:${i}`;
      deadOf.set(key, n);
      cmds.push(['SADD', key, ...Array.from({ length: n }, (_, j) => `gone-${j}`)]);
    });
    for (let i = 0; i < 2000; i++) cmds.push(['SET', `noise:${i}`, 'v']);
    await send(client, cmds);
  });
  afterAll(async () => {
    await conn.close();
    await server.close();
  });

  it('lists the largest findings (not the first found) and keeps the totals exact', async () => {
    const indexRules = [{ name: 'app', match: 'app:idx:*', target: 'app:item:$member' }];
    const r = await findOrphans(conn, { indexRules, listLimit: 5, count: 50 });
    expect(r.findingsTotal).toBe(60);
    expect(r.totals.index).toEqual({ keys: 60, deadMembers: (60 * 61) / 2, memoryBytes: expect.any(Number) });
    const expected = [...deadOf.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    expect(r.findings.map((f) => [f.key, f.deadMembers])).toEqual(expected);
    // The table, CSV and JSON list the same findings, largest first.
    const csvKeys = renderOrphanReport(r, 'csv').trim().split('\n').slice(1).map((l) => l.split(',')[2]);
    expect(csvKeys).toEqual(expected.map(([k]) => k));
    expect((JSON.parse(renderOrphanReport(r, 'json')) as { findings: { key: string }[] }).findings.map((f) => f.key)).toEqual(expected.map(([k]) => k));
    const table = renderOrphanReport(r, 'table');
    expect(table.indexOf(expected[0][0])).toBeLessThan(table.indexOf(expected[4][0]));
  });

  it('writes numbers as numbers in the CSV: a pttl of -1 is -1, not the formula guard', async () => {
    const r = await findOrphans(conn, { indexRules: [{ name: 'app', match: 'app:idx:*', target: 'app:item:$member' }], listLimit: 1 });
    const [header, row] = renderOrphanReport(r, 'csv').trim().split('\n');
    expect(header.split(',').at(-1)).toBe('pttl_ms');
    expect(row.split(',').at(-1)).toBe('-1');
  });
});

describe('fix --apply: memory freed', () => {
  let client: Redis;
  let conn: RedisConnection;
  let dir: string;
  let audit: AuditServer | undefined;

  beforeAll(async () => {
    audit = await openAuditServer('freed');
    ({ client, conn, dir } = audit);
  });
  afterAll(() => audit?.close());

  it('says how much it freed: exactly the MEMORY USAGE of the keys it unlinked, and an estimate for members', async () => {
    const cmds: Cmd[] = [];
    // 50 TTL-less phantoms of gone entities (unlinked whole) and a keyspace set with 900 dead of 1000.
    for (let i = 0; i < 1000; i++) cmds.push(['SADD', 'people', `p${i}`]);
    for (let i = 0; i < 100; i++) cmds.push(['HSET', `people:p${i}`, 'name', `n${i}`]);
    for (let i = 500; i < 550; i++) cmds.push(['HSET', `people:p${i}:phantom`, 'name', 'x'.repeat(200)]);
    await send(client, cmds);
    const phantoms = Array.from({ length: 50 }, (_, i) => `people:p${i + 500}:phantom`);
    const exact = (await Promise.all(phantoms.map((k) => client.call('MEMORY', 'USAGE', k, 'SAMPLES', '0')))) as number[];
    const setBefore = (await client.call('MEMORY', 'USAGE', 'people', 'SAMPLES', '0')) as number;

    const dry = await fixLeaks(conn, { pruneOrphans: true, logFile: join(dir, 'dry.jsonl') });
    expect(dry.prune).toMatchObject({ membersRemoved: 900, keysUnlinked: 50, keysUnlinkedBytes: exact.reduce((a, b) => a + b, 0) });
    expect(dry.prune!.membersRemovedBytes).toBe(Math.round((setBefore * 900) / 1000));
    expect(renderFixReport(dry, 'table')).toContain('Memory to free:');

    const r = await fixLeaks(conn, { pruneOrphans: true, apply: true, logFile: join(dir, 'apply.jsonl') });
    expect(r.prune).toMatchObject({ membersRemoved: 900, keysUnlinked: 50, keysUnlinkedBytes: exact.reduce((a, b) => a + b, 0) });
    const setAfter = (await client.call('MEMORY', 'USAGE', 'people', 'SAMPLES', '0')) as number;
    expect(r.prune!.membersRemovedBytes).toBe(setBefore - setAfter);
    expect(r.prune!.membersRemovedBytes).toBeGreaterThan(0);
    const table = renderFixReport(r, 'table');
    expect(table).toContain('Memory freed:');
    expect(table).toContain('measured with MEMORY USAGE before removal');
    const csv = renderFixReport(r, 'csv');
    expect(csv).toContain(`bytes freed by unlinking (measured before UNLINK),${r.prune!.keysUnlinkedBytes}`);
  });
});

describe('orphans: a per-command error in a pipeline', () => {
  let server: RedisTestServer;

  beforeAll(async () => {
    server = await startRedis({ own: true });
    const admin = server.client();
    await send(admin, [
      ['HSET', 'spring:session:sessions:abc', 'lastAccessedTime', '1'],
      ['SADD', 'persons', '1', '2'],
      ['HSET', 'persons:1', 'id', '1'],
    ]);
    // A user that may read everything but HEXISTS: each HEXISTS in a pipeline fails on its own.
    await admin.call('ACL', 'SETUSER', 'nohexists', 'on', '>pw', '~*', '-@all', '+@read', '+@connection', '+info', '+evalsha_ro', '+eval_ro', '+client|setname', '-hexists');
  });
  afterAll(async () => {
    await server.close();
  });

  it('fails the run with that error instead of reading it as "field absent" or "present"', async () => {
    const conn = RedisConnection.create({ url: server.url.replace('redis://', 'redis://nohexists:pw@') });
    try {
      await expect(findOrphans(conn)).rejects.toThrow(/hexists/i);
    } finally {
      await conn.close();
    }
  });
});
