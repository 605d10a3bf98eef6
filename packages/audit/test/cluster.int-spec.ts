import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import { RedisConnection } from '@tidykv/core';
import { countCommands, eventually, startRedisCluster, type RedisTestCluster } from '@tidykv/testing';
import { findOrphans, fixLeaks, scanKeyspace } from '../src/index.js';
import { READ_ONLY_COMMANDS, diffSnapshots, merge, send, snapshot, springData, tidykv, type Seeded } from './seed.helper.js';

function users(): Seeded {
  const s: Seeded = { cmds: [], orphanKeys: new Map(), deadMembers: new Map() };
  for (let i = 0; i < 600; i++) s.cmds.push(['SET', `user:${i}:profile`, 'p']);
  return s;
}

describe('on a Redis Cluster (3 masters, 1 replica each)', () => {
  let cluster: RedisTestCluster;
  let client: Cluster;
  let conn: RedisConnection;
  let dir: string;
  let seed: Seeded;
  let total: number;

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    client = cluster.client();
    seed = merge(springData('persons', 5000, 4000, { deadIdx: 50 }), tidykv('Zq9w'), users());
    await send(client, seed.cmds);
    total = (await snapshot(client)).size;
    conn = RedisConnection.create({ cluster: { nodes: cluster.seeds } });
    dir = mkdtempSync(join(tmpdir(), 'tidykv-audit-cluster-'));
  }, 60_000);
  afterAll(async () => {
    await conn.close();
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scans every master and counts every key once', async () => {
    const r = await scanKeyspace(conn, { memorySampleRate: 1 });
    expect(r.nodes).toHaveLength(3);
    expect(r.keys).toBe(total);
    const users = r.patterns.find((p) => p.pattern === 'user:<num>:profile')!;
    expect(users).toMatchObject({ keys: 600, keysWithoutTtl: 600, types: { string: 600 }, memorySampledKeys: 600 });
    const sizes = await Promise.all(Array.from({ length: 600 }, (_, i) => client.call('MEMORY', 'USAGE', `user:${i}:profile`, 'SAMPLES', 5) as Promise<number>));
    expect(users.memoryBytes).toBe(sizes.reduce((a, b) => a + b, 0));
  });

  it('scans the replicas instead with `replicas`, sending nothing to the masters', async () => {
    const replicaConn = RedisConnection.create({ cluster: { nodes: cluster.seeds, options: { scaleReads: 'slave' } } });
    try {
      const replicas = cluster.nodes.filter((n) => n.role === 'replica').map((n) => n.process);
      const clients = replicas.map((p) => p.client());
      await eventually(async () => (await Promise.all(clients.map((c) => c.dbsize()))).reduce((a, b) => a + b, 0) === total, 10_000, 'replicas to catch up');
      const { result, counts } = await countCommands(client, () => scanKeyspace(replicaConn, { replicas: true }));
      expect(result.nodes.sort()).toEqual(replicas.map((p) => `${p.host}:${p.port}`).sort());
      expect(result.keys).toBe(total);
      expect(counts.scan ?? 0).toBe(0);
      expect(counts.type ?? 0).toBe(0);
      const o = await findOrphans(replicaConn, { replicas: true });
      expect(o.totals['spring-data-keyspace']).toMatchObject({ keys: 1, deadMembers: 4000 });
    } finally {
      await replicaConn.close();
    }
  });

  it('finds the keyspace set with 4000 dead members out of 5000, read-only', async () => {
    const { result: r, counts } = await countCommands(client, () => findOrphans(conn));
    // REPLCONF ACKs come from the replicas every second, not from the auditor.
    expect(Object.keys(counts).filter((c) => !READ_ONLY_COMMANDS.has(c) && c !== 'replconf')).toEqual([]);
    expect(r.springDataKeyspaces).toEqual(['persons']);
    expect(r.totals['spring-data-keyspace']).toMatchObject({ keys: 1, deadMembers: 4000 });
    expect(r.totals['spring-data-idx']).toMatchObject({ keys: 50, deadMembers: 50 });
    expect(r.totals.index).toMatchObject({ keys: 3, deadMembers: 7 });
    expect(r.findings.find((f) => f.key === 'persons')).toMatchObject({ members: 5000, deadMembers: 4000 });
  });

  it('fix --apply removes exactly the dead members and orphaned keys across slots', async () => {
    const before = await snapshot(client);
    const logFile = join(dir, 'fix.jsonl');
    const r = await fixLeaks(conn, { pruneOrphans: true, apply: true, logFile });
    const dead = [...seed.deadMembers.values()].reduce((n, v) => n + v.size, 0);
    expect(r.prune).toMatchObject({ membersRemoved: dead, membersKept: 0, membersRestored: 0, keysUnlinked: 50, keysKept: 0 });
    const after = await snapshot(client);
    expect(diffSnapshots(before, after, new Set([...seed.orphanKeys.values()].flat()), seed.deadMembers)).toEqual([]);
    expect((await findOrphans(conn)).findingsTotal).toBe(0);
  });

  it('fix --expire gives TTL-less keys a TTL with EXPIRE NX on every master', async () => {
    await client.set('user:ttl:1', 'v', 'PX', 90_000);
    const r = await fixLeaks(conn, { expireSeconds: 600, match: 'user:*', apply: true, logFile: join(dir, 'expire.jsonl') });
    expect(r.expire).toEqual({ seconds: 600, keysWithoutTtl: 600, expired: 600, skipped: 0 });
    const pttls = await Promise.all(Array.from({ length: 600 }, (_, i) => client.pttl(`user:${i}:profile`)));
    expect(pttls.every((p) => p > 590_000 && p <= 600_000)).toBe(true);
    expect(await client.pttl('user:ttl:1')).toBeLessThanOrEqual(90_000);
  });

  it('puts back a member whose target re-appears while it is being removed across slots', async () => {
    // Reproduces the race deterministically: the app re-creates order:o2 right after our SREM.
    await client.sadd('order', 'o1', 'o2', 'o3');
    await client.hset('order:o3', 'total', '1');
    const logFile = join(dir, 'race.jsonl');
    const raceConn = RedisConnection.create({ cluster: { nodes: cluster.seeds } });
    const router = raceConn.client as Cluster;
    const srem = router.srem.bind(router) as (...a: unknown[]) => Promise<number>;
    (router as unknown as { srem: unknown }).srem = async (...args: unknown[]) => {
      const removed = await srem(...args);
      await client.hset('order:o2', 'total', '2');
      return removed;
    };
    try {
      const r = await fixLeaks(raceConn, { pruneOrphans: true, apply: true, match: 'order', springDataKeyspaces: ['order'], logFile });
      expect(r.prune).toMatchObject({ membersRemoved: 1, membersRestored: 1 });
      expect((await client.smembers('order')).sort()).toEqual(['o2', 'o3']);
      const log = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; member: string; result: string });
      expect(log.filter((e) => e.action === 'restore-member').map((e) => e.member)).toEqual(['o2']);
      expect(log.filter((e) => e.action === 'remove-member' && e.result === 'done').map((e) => e.member)).toEqual(['o1']);
    } finally {
      await raceConn.close();
    }
  });
});
