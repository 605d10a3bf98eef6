import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { RedisConnection } from '@tidykv/core';
import { startRedis, type RedisTestServer } from '@tidykv/testing';
import { renderScanReport, scanKeyspace, type ScanReport } from '../src/index.js';

// Many small keys, a few big ones (one string, four collections), ten medium strings, and
// families whose ids the strict classifier alone splits. Seeded by a script on the server: fast.
const SEED = `
local b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local hex = '0123456789abcdef'
local function rnd(alphabet, n)
  local t = {}
  for i = 1, n do
    local j = math.random(1, #alphabet)
    t[i] = string.sub(alphabet, j, j)
  end
  return table.concat(t)
end
for i = 1, 6000 do
  local k = string.format('sess:{%08x-3d4a-4b6c-8d7e-%012x}', i, i)
  redis.call('HSET', k, 'uid', i, 'at', 1700000000000 + i)
  redis.call('PEXPIRE', k, 3600000)
end
for i = 1, 6000 do redis.call('SET', 'user:' .. i .. ':profile', 'name-' .. i) end
for i = 1, 3000 do redis.call('SET', 'cache/product/' .. i, string.rep('p', 40), 'EX', 86400) end
for i = 1, 3000 do redis.call('SET', 'user.' .. i .. '.profile', 'x') end
for i = 1, 3000 do redis.call('SET', 'refresh:' .. rnd(b64, 22), '1', 'EX', 600) end
for i = 1, 2000 do redis.call('SET', 'job:' .. rnd(hex, 6), 'queued') end
-- Five big keys.
redis.call('SETRANGE', 'blob:huge', 3000000, 'x')
for i = 1, 50000, 1000 do
  local m = {}
  for j = i, i + 999 do m[#m + 1] = 'member-' .. j end
  redis.call('SADD', 'idx:all', unpack(m))
end
for i = 1, 30000, 500 do
  local m = {}
  for j = i, i + 499 do m[#m + 1] = 'f' .. j; m[#m + 1] = 'value-' .. j end
  redis.call('HSET', 'hot:hash', unpack(m))
end
for i = 1, 30000, 500 do
  local m = {}
  for j = i, i + 499 do m[#m + 1] = j; m[#m + 1] = 'player-' .. j end
  redis.call('ZADD', 'lb:global', unpack(m))
end
for i = 1, 40000, 1000 do
  local m = {}
  for j = i, i + 999 do m[#m + 1] = 'event-' .. j end
  redis.call('RPUSH', 'q:events', unpack(m))
end
redis.call('EXPIRE', 'lb:global', 86400)
-- Ten medium strings, 20 kB to 200 kB.
for i = 1, 10 do redis.call('SET', 'cfg:blob:' .. i, string.rep('c', 20000 * i)) end
return redis.call('DBSIZE')
`;

const BIG = ['blob:huge', 'idx:all', 'hot:hash', 'lb:global', 'q:events'];

interface Exact {
  keys: number;
  withoutTtl: number;
  bytes: Map<string, number>;
  total: number;
}

/** Ground truth: every key, its MEMORY USAGE (SAMPLES 5, as the scan) and whether it has a TTL. */
async function exact(client: Redis): Promise<Exact> {
  const bytes = new Map<string, number>();
  let withoutTtl = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const p = client.pipeline();
    for (const k of keys) p.call('MEMORY', 'USAGE', k, 'SAMPLES', 5).pttl(k);
    const r = (await p.exec()) ?? [];
    keys.forEach((k, i) => {
      bytes.set(k, r[2 * i][1] as number);
      if (r[2 * i + 1][1] === -1) withoutTtl++;
    });
  } while (cursor !== '0');
  return { keys: bytes.size, withoutTtl, bytes, total: [...bytes.values()].reduce((a, b) => a + b, 0) };
}

describe('scanKeyspace at default options on a keyspace with a few big keys among many small ones', () => {
  let server: RedisTestServer;
  let client: Redis;
  let conn: RedisConnection;
  let truth: Exact;
  let report: ScanReport;
  let slow: { id: number; us: number; args: string[]; client: string }[];

  beforeAll(async () => {
    server = await startRedis({ own: true });
    client = server.client();
    await client.eval(SEED, 0);
    truth = await exact(client);
    conn = RedisConnection.create({ url: server.url });
    // Every command is logged with its duration, so the blocking test sees the whole distribution.
    await client.config('SET', 'slowlog-log-slower-than', '0');
    await client.config('SET', 'slowlog-max-len', '1000000');
    await client.call('SLOWLOG', 'RESET');
    report = await scanKeyspace(conn, {});
    const entries = (await client.call('SLOWLOG', 'GET', '-1')) as [number, number, number, string[], string, string][];
    await client.config('SET', 'slowlog-log-slower-than', '10000');
    // Top-level commands only: the commands a script runs are logged too, with the client "?:0".
    slow = entries.map((e) => ({ id: e[0], us: e[2], args: e[3], client: e[4] })).filter((e) => e.client !== '?:0' && !['slowlog', 'config'].includes(e.args[0].toLowerCase()));
  }, 120_000);
  afterAll(async () => {
    await conn.close();
    await server.close();
  });

  it('counts keys and keys without TTL exactly', () => {
    expect(report.keys).toBe(truth.keys);
    expect(report.keysWithoutTtl).toBe(truth.withoutTtl);
  });

  it('reports each big key with its memory, and memory totals within 5% of MEMORY USAGE over every key', () => {
    for (const key of BIG) {
      const found = report.topKeys.byMemory.find((k) => k.key === key);
      expect(found).toBeDefined();
      expect(Math.abs(found!.bytes! - truth.bytes.get(key)!) / truth.bytes.get(key)!).toBeLessThan(0.05);
    }
    expect(Math.abs(report.memoryBytes - truth.total) / truth.total).toBeLessThan(0.05);
    // The stated bound covers the actual error (1% slack for MEMORY USAGE sampling of collections).
    expect(Math.abs(report.memoryBytes - truth.total)).toBeLessThanOrEqual(report.memoryErrorBytes + truth.total * 0.01);
    // No pattern with keys reports 0 B.
    for (const p of report.patterns) expect(p.memoryBytes).toBeGreaterThan(0);
  });

  it('lists the exact top 10 by memory, and the largest collections by element count', () => {
    const exactTop = [...truth.bytes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
    expect(report.topKeys.byMemory.map((k) => k.key)).toEqual(exactTop.map(([k]) => k));
    expect(report.topKeys.byMemory.map((k) => k.bytes)).toEqual(exactTop.map(([, b]) => b));
    expect(report.topKeys.byLength.slice(0, 4).map((k) => [k.key, k.length])).toEqual([
      ['idx:all', 50_000],
      ['q:events', 40_000],
      ['hot:hash', 30_000],
      ['lb:global', 30_000],
    ]);
    const lb = report.topKeys.byMemory.find((k) => k.key === 'lb:global')!;
    expect(lb).toMatchObject({ type: 'zset', pattern: 'lb:global' });
    expect(lb.pttl).toBeGreaterThan(0);
    expect(report.topKeys.byMemory.find((k) => k.key === 'blob:huge')).toMatchObject({ type: 'string', pttl: -1, length: 3_000_001 });
    const text = renderScanReport(report, 'table');
    for (const key of BIG) expect(text).toContain(key);
  });

  it('keeps every command it sends within the 1 ms blocking budget (SLOWLOG)', () => {
    // Margin rule: the scanner aims each call at 15% of the budget (0.15 ms). A call only crosses
    // 1 ms when the machine stalls the server thread; this 2-core box is shared with other test
    // runs, so a few stalls are allowed: at most 2% of the calls over 1 ms, and the 90th
    // percentile at most 1 ms. The median must be at or below 0.6 ms.
    const us = slow.map((e) => e.us).sort((a, b) => a - b);
    const q = (f: number) => us[Math.min(us.length - 1, Math.floor(f * us.length))];
    expect(us.length).toBeGreaterThan(50);
    expect(slow.some((e) => e.args[0].toUpperCase() === 'EVALSHA_RO')).toBe(true);
    expect(us.filter((u) => u > 1000).length).toBeLessThanOrEqual(Math.ceil(us.length * 0.02));
    expect(q(0.9)).toBeLessThanOrEqual(1000);
    expect(q(0.5)).toBeLessThanOrEqual(600);
    expect(report.blocking.scriptCalls).toBeGreaterThan(10);
    // The budget shaped the batches: a call carries far fewer than the 1000 keys of a SCAN reply.
    expect(report.blocking.keysPerCall).toBeLessThan(1000);
    const scripts = slow.filter((e) => e.args[0].toUpperCase() === 'EVALSHA_RO').map((e) => e.us).sort((a, b) => a - b);
    // The median script call sits near its 0.15 ms aim (allowing for this shared machine).
    expect(scripts[Math.floor(scripts.length / 2)]).toBeLessThanOrEqual(350);
  });

  it('groups families as one pattern each, including names separated by / and .', () => {
    const by = new Map(report.patterns.map((p) => [p.pattern, p.keys]));
    expect(by.get('refresh:<token>')).toBe(3000);
    expect(by.get('job:<hex>')).toBe(truth.keys - [...truth.bytes.keys()].filter((k) => !k.startsWith('job:')).length);
    expect(by.get('cache/product/<num>')).toBe(3000);
    expect(by.get('user.<num>.profile')).toBe(3000);
    expect(by.get('user:<num>:profile')).toBe(6000);
    expect(by.get('sess:{<hex>-3d4a-4b6c-8d7e-<hex>}') ?? by.get('sess:{<uuid>}')).toBe(6000);
    expect([...by.keys()].filter((p) => p.startsWith('refresh:') || p.startsWith('job:'))).toHaveLength(2);
    expect(report.patterns.find((p) => p.pattern === 'cache/product/<num>')!.glob).toBe('cache/product/*');
  });
});
