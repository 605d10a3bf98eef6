import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { RedisConnection } from '@tidykv/core';
import { RedisProcess, countCommands, eventually, startRedis, type RedisTestServer } from '@tidykv/testing';
import { TidyKvAuditError, renderScanReport, scanKeyspace, type ScanReport } from '../src/index.js';
import { openAuditServer, type AuditServer } from './audit-server.helper.js';
import { READ_ONLY_COMMANDS, send, type Cmd } from './seed.helper.js';

const UUIDS = Array.from({ length: 200 }, (_, i) => `9b2f5c1e-3d4a-4b6c-8d7e-${String(i).padStart(12, '0')}`);

function dataset(): Cmd[] {
  const cmds: Cmd[] = [];
  for (let i = 0; i < 300; i++) cmds.push(['SET', `user:${i}:profile`, 'p'.repeat(20)]);
  cmds.push(['SET', 'user:999:profile', 'x'.repeat(10_000)]);
  UUIDS.forEach((u, i) => {
    cmds.push(['HSET', `sess:{${u}}`, 'a', '1', 'b', '2']);
    // 50 under a minute, 100 under an hour, 50 of two days.
    cmds.push(['PEXPIRE', `sess:{${u}}`, i < 50 ? 50_000 : i < 150 ? 600_000 : 172_800_000]);
  });
  for (let i = 0; i < 3; i++) cmds.push(['ZADD', `lb:2026-11-2${i}`, 1, 'a', 2, 'b'], ['EXPIRE', `lb:2026-11-2${i}`, 86_400 * 40]);
  cmds.push(['RPUSH', 'queue:jobs', 'j1', 'j2']);
  return cmds;
}

const TOTAL = 301 + 200 + 3 + 1;

describe('scanKeyspace on a standalone server', () => {
  let server: RedisTestServer;
  let client: Redis;
  let conn: RedisConnection;
  let dir: string;
  let audit: AuditServer | undefined;

  beforeAll(async () => {
    audit = await openAuditServer('scan');
    ({ server, client, conn, dir } = audit);
    await send(client, dataset());
  });
  afterAll(() => audit?.close());

  it('groups keys by pattern with exact counts, TTL-less keys, types and TTL distribution', async () => {
    const r = await scanKeyspace(conn, { memorySampleRate: 1 });
    expect(r.keys).toBe(TOTAL);
    expect(r.keysWithoutTtl).toBe(302);
    expect(r.interrupted).toBe(false);
    const by = new Map(r.patterns.map((p) => [p.pattern, p]));
    expect([...by.keys()].sort()).toEqual(['lb:<date>', 'queue:jobs', 'sess:{<uuid>}', 'user:<num>:profile']);
    const users = by.get('user:<num>:profile')!;
    expect(users).toMatchObject({ keys: 301, keysWithoutTtl: 301, types: { string: 301 } });
    expect(users.ttl.none).toBe(301);
    expect(users.largest[0].key).toBe('user:999:profile');
    const sess = by.get('sess:{<uuid>}')!;
    expect(sess).toMatchObject({ keys: 200, keysWithoutTtl: 0, types: { hash: 200 } });
    expect(sess.ttl).toEqual({ none: 0, '<1m': 50, '1m-1h': 100, '1h-1d': 0, '1d-7d': 50, '7d-30d': 0, '>30d': 0 });
    expect(by.get('lb:<date>')!.ttl['>30d']).toBe(3);
    expect(by.get('queue:jobs')!.types).toEqual({ list: 1 });
  });

  it('measures memory exactly at sample rate 1 and extrapolates from a sample otherwise', async () => {
    const exact = await scanKeyspace(conn, { memorySampleRate: 1 });
    const users = exact.patterns.find((p) => p.pattern === 'user:<num>:profile')!;
    const p = client.pipeline();
    for (let i = 0; i < 300; i++) p.call('MEMORY', 'USAGE', `user:${i}:profile`, 'SAMPLES', 5);
    p.call('MEMORY', 'USAGE', 'user:999:profile', 'SAMPLES', 5);
    const sum = ((await p.exec()) ?? []).reduce((n, [, v]) => n + (v as number), 0);
    expect(users.memoryBytes).toBe(sum);
    expect(users.memorySampledKeys).toBe(301);
    // Largest first: the 10 kB profile dominates the pattern.
    expect(exact.patterns[0].pattern).toBe('user:<num>:profile');

    const sampled = await scanKeyspace(conn, { memorySampleRate: 0.3 });
    const s = sampled.patterns.find((x) => x.pattern === 'sess:{<uuid>}')!;
    // The sample proper (keys measured as candidates for the top list are counted apart, as exact).
    const sampledOnly = s.memorySampledKeys - s.memoryExactKeys;
    expect(sampledOnly).toBeGreaterThan(20);
    expect(sampledOnly).toBeLessThan(120);
    // Sessions are all alike, so the extrapolation lands within a few percent of the exact figure.
    const e = exact.patterns.find((x) => x.pattern === 'sess:{<uuid>}')!;
    expect(Math.abs(s.memoryBytes - e.memoryBytes) / e.memoryBytes).toBeLessThan(0.05);
    // At rate 0 only the keys that may be big are measured, plus two keys of each pattern (one
    // where a pattern has one key), so no pattern reports 0 B.
    const none = await scanKeyspace(conn, { memorySampleRate: 0 });
    expect(none.keys).toBe(TOTAL);
    for (const p of none.patterns) {
      expect(p.memorySampledKeys).toBeGreaterThanOrEqual(Math.min(2, p.keys));
      expect(p.memoryBytes).toBeGreaterThan(0);
    }
    expect(none.patterns.find((x) => x.pattern === 'user:<num>:profile')!.memoryExactKeys).toBe(1);
  });

  it('honours MATCH, the TYPE filter and the COUNT hint', async () => {
    const m = await scanKeyspace(conn, { match: 'user:*', count: 7 });
    expect(m.keys).toBe(301);
    expect(m.patterns.map((p) => p.pattern)).toEqual(['user:<num>:profile']);
    const t = await scanKeyspace(conn, { type: 'hash' });
    expect(t.keys).toBe(200);
    expect(t.patterns.map((p) => p.pattern)).toEqual(['sess:{<uuid>}']);
  });

  it('sends read-only commands only', async () => {
    // The batch inspection runs as EVALSHA_RO (read-only by contract); commandstats also counts the
    // TYPE and PTTL calls made inside it, which is what the per-key counts below check.
    await client.script('FLUSH');
    const { counts } = await countCommands(client, () => scanKeyspace(conn, { memorySampleRate: 0.5 }));
    expect(counts.scan).toBeGreaterThan(0);
    expect(counts.evalsha_ro).toBeGreaterThan(0);
    // After SCRIPT FLUSH the first batch falls back to EVAL_RO once.
    expect(counts.eval_ro).toBe(1);
    expect(counts.type).toBe(TOTAL);
    expect(counts.pttl).toBe(TOTAL);
    expect(counts['memory|usage']).toBeGreaterThan(0);
    expect(Object.keys(counts).filter((c) => !READ_ONLY_COMMANDS.has(c))).toEqual([]);
  });

  it('keeps to --rate within 10%', async () => {
    const rate = 400;
    const started = performance.now();
    const r = await scanKeyspace(conn, { rate, count: 100 });
    const seconds = (performance.now() - started) / 1000;
    expect(r.keys).toBe(TOTAL);
    const observed = TOTAL / seconds;
    expect(observed).toBeLessThanOrEqual(rate * 1.1);
    expect(observed).toBeGreaterThanOrEqual(rate * 0.9);
  });

  it('stops after the current batch when aborted and resumes from the checkpoint to the same totals', async () => {
    const full = await scanKeyspace(conn, { memorySampleRate: 1, count: 50 });
    const checkpoint = join(dir, 'scan.checkpoint.json');
    const controller = new AbortController();
    let commits = 0;
    const first = await scanKeyspace(conn, {
      memorySampleRate: 1,
      count: 50,
      checkpoint,
      signal: controller.signal,
      onProgress: () => {
        if (++commits === 3) controller.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(first.keys).toBeGreaterThan(0);
    expect(first.keys).toBeLessThan(TOTAL);
    expect(existsSync(checkpoint)).toBe(true);
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { nodes: Record<string, { cursor: string; done: boolean }> };
    expect(Object.values(saved.nodes)[0].done).toBe(false);

    const resumed = await scanKeyspace(conn, { memorySampleRate: 1, count: 50, checkpoint });
    expect(resumed.interrupted).toBe(false);
    // Which keys are measured because they might enter the top list depends on the top list at
    // the moment their batch is classified, and batch sizes follow the measured cost: that split
    // (memoryExactKeys) may differ between runs. With every key measured, the figures may not.
    const strip = (r: ScanReport) => r.patterns.map(({ memoryExactKeys: _, ...p }) => ({ ...p, largest: p.largest.map((l) => l.key) }));
    expect(resumed.keys).toBe(full.keys);
    expect(strip(resumed)).toEqual(strip(full));
    expect(existsSync(checkpoint)).toBe(false);
  });

  it('saves the checkpoint when Redis goes away mid-run, so the rerun resumes instead of starting over', async () => {
    const own = await startRedis({ own: true });
    const ownConn = RedisConnection.create({ url: own.url, commandTimeoutMs: 1000, connectTimeoutMs: 500 });
    try {
      await send(own.client(), dataset());
      const checkpoint = join(dir, 'outage.checkpoint.json');
      let commits = 0;
      let stopping: Promise<void> | undefined;
      await expect(
        scanKeyspace(ownConn, {
          count: 50,
          inflight: 1,
          // Slow enough that the server is down before the walk could finish.
          rate: 300,
          checkpoint,
          onProgress: () => {
            if (++commits === 2) stopping = own.stop();
          },
        }),
      ).rejects.toMatchObject({ code: 'TIDYKV_UNAVAILABLE' });
      await stopping;
      const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { nodes: Record<string, { cursor: string; done: boolean }>; state: { patterns: [string, { keys: number }][] } };
      expect(Object.values(saved.nodes)[0]).toMatchObject({ done: false });
      expect(Object.values(saved.nodes)[0].cursor).not.toBe('0');
      const counted = saved.state.patterns.reduce((n, [, p]) => n + p.keys, 0);
      expect(counted).toBeGreaterThanOrEqual(50);
      expect(counted).toBeLessThan(TOTAL);
      await own.start();
      const resumed = await scanKeyspace(ownConn, { count: 50, inflight: 1, checkpoint });
      // The restarted server is empty (nothing persisted): the rerun keeps what was counted before.
      expect(resumed.keys).toBe(counted);
      expect(resumed.interrupted).toBe(false);
      expect(existsSync(checkpoint)).toBe(false);
    } finally {
      await ownConn.close();
      await own.close();
    }
  });

  it('refuses a checkpoint written with other options', async () => {
    const checkpoint = join(dir, 'other.checkpoint.json');
    const controller = new AbortController();
    await scanKeyspace(conn, { count: 50, checkpoint, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(scanKeyspace(conn, { count: 50, match: 'user:*', checkpoint })).rejects.toMatchObject({ code: 'TIDYKV_AUDIT_CHECKPOINT' });
    await expect(scanKeyspace(conn, { count: 50, match: 'user:*', checkpoint })).rejects.toBeInstanceOf(TidyKvAuditError);
  });

  it('reads from a replica with `replicas` and never from the master', async () => {
    // Redis waits 5 s before a diskless full sync by default, to batch replicas; one is enough here.
    await client.config('SET', 'repl-diskless-sync-delay', '0');
    const replica = await RedisProcess.start({ args: ['--replicaof', server.host, String(server.port)] });
    try {
      const rc = replica.client();
      await eventually(async () => (await rc.dbsize()) === TOTAL && (await client.info('replication')).includes('state=online'), 10_000, 'the replica to sync');
      const { result, counts } = await countCommands(client, () => scanKeyspace(conn, { replicas: true }));
      expect(result.nodes).toEqual([`${replica.host}:${replica.port}`]);
      expect(result.keys).toBe(TOTAL);
      expect(result.keysWithoutTtl).toBe(302);
      expect(counts.scan ?? 0).toBe(0);
      expect(counts.type ?? 0).toBe(0);
    } finally {
      await replica.close();
    }
  });

  it('renders table, JSON, CSV and HTML', async () => {
    const r = await scanKeyspace(conn, { memorySampleRate: 1 });
    const table = renderScanReport(r, 'table');
    expect(table).toContain('user:<num>:profile');
    expect(table).toContain(`Scanned ${TOTAL} keys`);
    expect((JSON.parse(renderScanReport(r, 'json')) as ScanReport).keys).toBe(TOTAL);
    // Two CSV tables, split by an empty line: patterns, then the top keys.
    const [patternsCsv, topCsv] = renderScanReport(r, 'csv').split('\n\n');
    const csv = patternsCsv.trim().split('\n');
    expect(csv[0]).toMatch(/^pattern,keys,keys_without_ttl,types,memory_bytes/);
    expect(csv).toHaveLength(1 + r.patterns.length);
    const top = topCsv.trim().split('\n');
    expect(top[0]).toBe('rank,by,key,type,pttl_ms,pattern,memory_bytes,length,node');
    expect(top).toHaveLength(1 + r.topKeys.byMemory.length + r.topKeys.byLength.length);
    // A PTTL of -1 is a number, written as such (no formula guard).
    expect(top[1]).toMatch(/^1,memory,user:999:profile,string,-1,user:<num>:profile,\d+,10000,/);
    const html = renderScanReport(r, 'html');
    expect(html).toContain('<svg id="memory-chart"');
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html.match(/<rect class="bar/g)).toHaveLength(r.patterns.length);
    // The top-keys table sits next to the chart.
    expect(html).toMatch(/<svg id="memory-chart"[\s\S]*<table id="top-keys">[\s\S]*user:999:profile[\s\S]*<table id="patterns">/);
    // Bars show the share of memory without TTL: all of user:<num>:profile, none of the sessions.
    expect(html).toMatch(/data-pattern="user:&lt;num&gt;:profile"[^>]*data-no-ttl-share="1"/);
    expect(html).toMatch(/data-pattern="sess:\{&lt;uuid&gt;\}"[^>]*data-no-ttl-share="0"/);
    expect(table).toContain('Largest keys by memory:');
  });
});
