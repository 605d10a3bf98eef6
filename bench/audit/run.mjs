// Benchmark of `tidykv-audit scan` at default options against the tools operators already use,
// `redis-cli --bigkeys` and `redis-cli --memkeys`, measured in the same run on the same keyspace:
// 1,000,000 keys, 30% without TTL, id-like names, five big keys of 1.8 to 56 MB and fifteen medium
// ones. Ground truth is MEMORY USAGE (SAMPLES 5, as all three tools use) of every key.
//
// Measured per tool: wall time, server CPU (INFO cpu used_cpu_sys + used_cpu_user delta), the p99
// of a PING probe (its own process and connection, one PING per ms) during the run vs idle. For
// the scan also: memory totals vs exact, the 10 largest keys found, key counts, peak RSS. Then
// RSS at 10M keys (DEBUG POPULATE on top) and on 1M keys with names that cannot be folded.
//
// Run with `npm run bench:audit` (builds dist first). Starts its own private redis-server on a
// free port (never 6379). Env: BENCH_KEYS (default 1000000), BENCH_BIG_KEYS (10000000; 0 skips),
// BENCH_ROUNDS (3; each figure is the median over the rounds), BENCH_SKIP_CLI=1 skips the redis-cli runs.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------- child modes
if (process.argv[2] === '--probe') {
  // PING once per ms until stdin closes; prints the latencies' percentiles.
  const c = new Redis(process.argv[3]);
  await c.ping();
  const lat = [];
  // The first half second is warm-up (JIT, connection): a 3-5 s idle window would otherwise put
  // those slow first PINGs into its p99. Every window (idle or during a tool) drops it alike.
  const warm = performance.now() + 500;
  let stop = false;
  process.stdin.on('end', () => (stop = true));
  process.stdin.resume();
  while (!stop) {
    const t = process.hrtime.bigint();
    await c.ping();
    if (performance.now() >= warm) lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    await new Promise((r) => setTimeout(r, 1));
  }
  lat.sort((a, b) => a - b);
  const q = (f) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))];
  process.stdout.write(JSON.stringify({ n: lat.length, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1] }));
  c.disconnect();
  process.exit(0);
}
if (process.argv[2] === '--scan') {
  const { RedisConnection } = await import('@tidykv/core');
  const { scanKeyspace } = await import('@tidykv/audit');
  const conn = RedisConnection.create({ url: process.argv[3], commandTimeoutMs: 30_000 });
  const report = await scanKeyspace(conn, JSON.parse(process.argv[4] ?? '{}'));
  await conn.close();
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(JSON.stringify({ maxRssMb, report: { ...report, patterns: report.patterns.slice(0, 60) }, patternCount: report.patterns.length }));
  process.exit(0);
}

// ---------------------------------------------------------------- parent
const { RedisProcess } = await import('@tidykv/testing');
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000);
const BIG_KEYS = Number(process.env.BENCH_BIG_KEYS ?? 10_000_000);
const SKIP_CLI = process.env.BENCH_SKIP_CLI === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

// Families with id-like names; 30% without TTL (user profiles, user.N.profile, tags).
const SEED = `
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
local b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local hex = '0123456789abcdef'
math.randomseed(from)
local function rnd(alphabet, n)
  local t = {}
  for i = 1, n do
    local j = math.random(1, #alphabet)
    t[i] = string.sub(alphabet, j, j)
  end
  return table.concat(t)
end
for i = from, to do
  local k = i % 20
  if k < 5 then
    local key = string.format('sess:{%08x-3d4a-4b6c-8d7e-%012x}', i, i)
    redis.call('HSET', key, 'uid', i, 'at', 1700000000000 + i)
    redis.call('PEXPIRE', key, 1800000 + (i % 3600) * 1000)
  elseif k < 8 then
    redis.call('SET', 'user:' .. i .. ':profile', 'name-' .. i)
  elseif k < 10 then
    redis.call('SET', 'refresh:' .. rnd(b64, 22), i, 'EX', 3600)
  elseif k < 12 then
    redis.call('SET', 'job:' .. string.format('%06x', (i * 2654435761) % 16777216), 'queued', 'EX', 86400)
  elseif k < 15 then
    redis.call('SET', 'cache/product/' .. i, string.rep('p', 20 + i % 40), 'EX', 3600 + (i % 86400))
  elseif k < 17 then
    redis.call('SET', 'user.' .. i .. '.profile', 'x' .. i)
  elseif k < 18 then
    redis.call('SADD', 'tags:' .. i, 'a', 'b', 'c')
  elseif k < 19 then
    redis.call('ZADD', 'cart:' .. string.format('%016x', i * 2654435761), 1, 'x', 2, 'y')
    redis.call('EXPIRE', 'cart:' .. string.format('%016x', i * 2654435761), 604800)
  else
    redis.call('SET', 'token:' .. rnd(b64, 32), '1', 'EX', 7200)
  end
end
return to - from + 1
`;

// Five big keys (a 56 MB string (55 MB of value, in jemalloc's 56 MB size class), a ~20 MB set, a ~14 MB zset, a ~7 MB list, a ~1.8 MB hash) and
// fifteen medium strings of 100 kB to 1.5 MB, added one chunk per call so no call blocks for long.
const BIG = `
local what, from, to = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if what == 'blob' then redis.call('SETRANGE', 'blob:export', 55 * 1024 * 1024, 'x') return 1 end
local m = {}
for j = from, to do
  if what == 'set' then m[#m + 1] = 'user-' .. j
  elseif what == 'zset' then m[#m + 1] = j; m[#m + 1] = 'player-' .. j
  elseif what == 'list' then m[#m + 1] = 'ev' .. j
  else m[#m + 1] = 'flag' .. j; m[#m + 1] = 'on-' .. j end
end
if what == 'set' then redis.call('SADD', 'idx:all-users', unpack(m))
elseif what == 'zset' then redis.call('ZADD', 'lb:global', unpack(m))
elseif what == 'list' then redis.call('RPUSH', 'q:events', unpack(m))
else redis.call('HSET', 'cfg:flags', unpack(m)) end
return #m
`;

async function seedBig(raw) {
  await raw.eval(BIG, 0, 'blob', 0, 0);
  const fill = async (what, n) => {
    for (let i = 0; i < n; i += 2000) await raw.eval(BIG, 0, what, i, Math.min(n, i + 2000) - 1);
  };
  await fill('set', 330_000);
  await fill('zset', 150_000);
  await fill('list', 750_000);
  await fill('hash', 28_000);
  await raw.expire('lb:global', 86400);
  for (let i = 1; i <= 15; i++) await raw.set(`report:${i}`, 'r'.repeat(100_000 * i), 'EX', 86400);
}

function probe(url) {
  const [cmd, args] = onServerCore(process.execPath, [SELF, '--probe', url], true);
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return {
    async stop() {
      child.stdin.end();
      await new Promise((r) => child.on('exit', r));
      return JSON.parse(out);
    },
  };
}

async function cpuSeconds(raw) {
  const info = await raw.info('cpu');
  return Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)[1]);
}

/** Runs `fn` with a PING probe alongside; returns wall s, server CPU s, probe stats and fn's result. */
async function measured(raw, url, fn) {
  const p = probe(url);
  await new Promise((r) => setTimeout(r, 500));
  const cpu0 = await cpuSeconds(raw);
  const t = performance.now();
  const result = await fn();
  const wallS = (performance.now() - t) / 1000;
  const cpuS = (await cpuSeconds(raw)) - cpu0;
  const ping = await p.stop();
  return { wallS, cpuS, ping, result };
}

function runChild(args) {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = onToolCore(process.execPath, args);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

function redisCli(server, flag) {
  return new Promise((resolve, reject) => {
    const [cmd, argv] = onToolCore('redis-cli', ['-h', server.host, '-p', String(server.port), flag]);
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-cli ${flag} exited ${code}`))));
    child.on('error', reject);
  });
}

async function scanChild(url, options = {}) {
  return JSON.parse(await runChild([SELF, '--scan', url, JSON.stringify(options)]));
}

/** Ground truth: MEMORY USAGE (SAMPLES 5) and PTTL of every key. */
async function groundTruth(raw) {
  const bytes = new Map();
  let withoutTtl = 0;
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const p = raw.pipeline();
    for (const k of keys) p.call('MEMORY', 'USAGE', k, 'SAMPLES', 5).pttl(k);
    const r = await p.exec();
    keys.forEach((k, i) => {
      bytes.set(k, r[2 * i][1]);
      if (r[2 * i + 1][1] === -1) withoutTtl++;
    });
  } while (cursor !== '0');
  let total = 0;
  for (const b of bytes.values()) total += b;
  // Ties (jemalloc size classes round equal-ish values to the same size) are broken by key name, as the scan does.
  const top10 = [...bytes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
  return { keys: bytes.size, withoutTtl, total, top10 };
}

const mb = (b) => (b / 1024 / 1024).toFixed(1);
const fmt = (x, d = 2) => x.toFixed(d);
const loadAtStart = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
const server = await RedisProcess.start({ allowDebug: true });
// Production runs the auditor on another host than Redis. On this machine the tool under test
// would otherwise take the cores Redis and the probe need, and the PING p99 would measure the
// scheduler, not the blocking: so Redis and the probe share core 0 (both at nice -10 when allowed)
// and every tool (the scan, redis-cli --bigkeys / --memkeys) runs on core 1. Idle is measured the
// same way. Set BENCH_NO_PIN=1 to run everything unpinned.
const PIN = process.env.BENCH_NO_PIN !== '1' && os.cpus().length >= 2 && spawnSync('taskset', ['-pc', '0', String(server.pid)]).status === 0;
const NICE = PIN && spawnSync('renice', ['-n', '-10', '-p', String(server.pid)]).status === 0;
function onServerCore(cmd, args, nice = false) {
  if (!PIN) return [cmd, args];
  return nice && NICE ? ['nice', ['-n', '-10', 'taskset', '-c', '0', cmd, ...args]] : ['taskset', ['-c', '0', cmd, ...args]];
}
function onToolCore(cmd, args) {
  return PIN ? ['taskset', ['-c', '1', cmd, ...args]] : [cmd, args];
}
const raw = new Redis(server.url);
const redisVersion = /redis_version:(\S+)/.exec(await raw.info('server'))[1];
console.log(`redis ${redisVersion} on ${server.url}; load average ${loadAtStart}`);

let t = performance.now();
for (let from = 0; from < KEYS - 20; from += 50_000) await raw.eval(SEED, 0, from, Math.min(KEYS - 20, from + 50_000) - 1);
await seedBig(raw);
const seedS = (performance.now() - t) / 1000;
const dbsize = await raw.dbsize();
console.log(`seeded ${dbsize} keys in ${seedS.toFixed(1)} s`);
t = performance.now();
const truth = await groundTruth(raw);
console.log(`ground truth in ${((performance.now() - t) / 1000).toFixed(1)} s: ${truth.keys} keys, ${truth.withoutTtl} without TTL, ${mb(truth.total)} MB; top: ${truth.top10.map(([k, b]) => `${k} ${mb(b)}MB`).join(', ')}`);

// The machine is shared, so each figure is the median of ROUNDS rounds, the tools alternating
// within each round (idle, scan, --bigkeys, --memkeys) so that a busy stretch hits them alike.
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rounds = { idle: [], scan: [], bigkeys: [], memkeys: [] };
let scanResult;
for (let r = 0; r < ROUNDS; r++) {
  const idle = probe(server.url);
  await new Promise((res) => setTimeout(res, 5500));
  rounds.idle.push(await idle.stop());
  const s = await measured(raw, server.url, () => scanChild(server.url));
  scanResult = s.result;
  rounds.scan.push(s);
  if (!SKIP_CLI) {
    rounds.bigkeys.push(await measured(raw, server.url, () => redisCli(server, '--bigkeys')));
    rounds.memkeys.push(await measured(raw, server.url, () => redisCli(server, '--memkeys')));
  }
  const last = (k) => rounds[k][rounds[k].length - 1];
  console.log(
    `round ${r + 1} (load ${os.loadavg()[0].toFixed(2)}): idle p99 ${fmt(last('idle').p99, 3)} ms; scan ${fmt(s.wallS)} s cpu ${fmt(s.cpuS)} s p99 ${fmt(s.ping.p99, 3)} ms rss ${s.result.maxRssMb.toFixed(0)} MB` +
      (SKIP_CLI ? '' : `; bigkeys ${fmt(last('bigkeys').wallS)} s cpu ${fmt(last('bigkeys').cpuS)} s p99 ${fmt(last('bigkeys').ping.p99, 3)} ms; memkeys ${fmt(last('memkeys').wallS)} s cpu ${fmt(last('memkeys').cpuS)} s p99 ${fmt(last('memkeys').ping.p99, 3)} ms`),
  );
}
const summary = (list) =>
  list.length === 0
    ? undefined
    : {
        wallS: median(list.map((m) => m.wallS)),
        cpuS: median(list.map((m) => m.cpuS)),
        ping: { p50: median(list.map((m) => m.ping.p50)), p99: median(list.map((m) => m.ping.p99)), max: median(list.map((m) => m.ping.max)) },
        result: list[list.length - 1].result,
        all: list,
      };
const idlePing = { p50: median(rounds.idle.map((p) => p.p50)), p99: median(rounds.idle.map((p) => p.p99)), max: median(rounds.idle.map((p) => p.max)) };
const scan = { ...summary(rounds.scan), result: scanResult };
const bigkeys = summary(rounds.bigkeys);
const memkeys = summary(rounds.memkeys);
const rep = scan.result.report;

// Accuracy against the ground truth.
const memErrPct = ((rep.memoryBytes - truth.total) / truth.total) * 100;
const topFound = truth.top10.filter(([k]) => rep.topKeys.byMemory.slice(0, 10).some((x) => x.key === k)).length;
const topExactOrder = truth.top10.every(([k, b], i) => rep.topKeys.byMemory[i]?.key === k && rep.topKeys.byMemory[i]?.bytes === b);
const cliFound = (out) => (out ? truth.top10.filter(([k]) => out.includes(`"${k}"`)).length : NaN);
const memkeysFound = cliFound(memkeys?.result);
const bigkeysFound = cliFound(bigkeys?.result);
console.log(`memory ${mb(rep.memoryBytes)} MB ±${mb(rep.memoryErrorBytes)} vs exact ${mb(truth.total)} MB (${fmt(memErrPct)}%); top 10 found ${topFound}/10 (exact order and bytes: ${topExactOrder}); memkeys shows ${memkeysFound}/10, bigkeys ${bigkeysFound}/10`);

// RSS at 10M keys: DEBUG POPULATE on top of the same keyspace.
let rss10 = null;
if (BIG_KEYS > dbsize) {
  t = performance.now();
  await raw.call('DEBUG', 'POPULATE', String(BIG_KEYS - dbsize), 'pop', '16');
  console.log(`DEBUG POPULATE to ${await raw.dbsize()} keys in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const r = await scanChild(server.url);
  rss10 = { keys: r.report.keys, rss: r.maxRssMb, s: r.report.durationMs / 1000, patterns: r.patternCount };
  console.log(`scan at ${rss10.keys} keys: peak RSS ${rss10.rss.toFixed(0)} MB, ${fmt(rss10.s)} s`);
}

// RSS on 1M keys with names that cannot be folded (two free parts each).
await raw.flushall();
const UNRECOGNISED = `
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
math.randomseed(from + 7)
local a = 'abcdefghijklmnopqrstuvwxyz'
local function w(n) local t = {} for i = 1, n do local j = math.random(1, 26) t[i] = string.sub(a, j, j) end return table.concat(t) end
for i = from, to do redis.call('SET', w(7) .. '-' .. w(3) .. ':' .. w(7) .. '-' .. w(2), 'v') end
return 1
`;
for (let from = 0; from < KEYS; from += 50_000) await raw.eval(UNRECOGNISED, 0, from, Math.min(KEYS, from + 50_000) - 1);
const unrec = await scanChild(server.url);
const other = unrec.report.patterns.find((p) => p.pattern === '<other>');
console.log(`unrecognised names: ${unrec.report.keys} keys, ${unrec.patternCount} patterns (${other?.keys ?? 0} keys under <other>), peak RSS ${unrec.maxRssMb.toFixed(0)} MB`);

const loadAtEnd = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
const ratio = (a, b) => (b > 0 ? a / b : NaN);
const wallRatio = memkeys ? ratio(scan.wallS, memkeys.wallS) : NaN;
const cpuRatio = memkeys ? ratio(scan.cpuS, memkeys.cpuS) : NaN;
const pingRatio = ratio(scan.ping.p99, idlePing.p99);
const rssRatio = rss10 ? ratio(rss10.rss, scan.result.maxRssMb) : NaN;
const met = (ok) => (ok ? 'met' : '**missed**');
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const row = (name, m, extra) =>
  `| ${name} | ${fmt(m.wallS)} s | ${fmt(m.cpuS)} s | ${fmt(m.ping.p50, 3)} / ${fmt(m.ping.p99, 3)} / ${fmt(m.ping.max, 1)} ms | ${extra}; rounds: ${m.all.map((x) => `${fmt(x.wallS)} s / ${fmt(x.cpuS)} s / p99 ${fmt(x.ping.p99, 2)} ms`).join(', ')} |`;

const md = `# bench/audit results

Generated by \`npm run bench:audit\` (bench/audit/run.mjs) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.
Machine: ${os.cpus().length} x ${cpu}, Node ${process.version}, Redis ${redisVersion} (private server on a free port, loopback).
Load average at the start ${loadAtStart}, at the end ${loadAtEnd}.
${PIN ? `Placement: Redis and the PING probe on core 0${NICE ? ' (both at nice -10)' : ''}, every tool under test (the scan, \`redis-cli --bigkeys\`, \`--memkeys\`) on core 1,
as when the auditor runs on another host than Redis; idle is measured the same way. Unpinned, on ${os.cpus().length} cores shared by all three,
the PING p99 measures CPU scheduling more than blocking.` : `Placement: unpinned (BENCH_NO_PIN=1 or taskset unavailable): Redis, the tool under test and the PING probe share the
machine's ${os.cpus().length} cores, so latency and CPU figures carry scheduling noise.`}

## Keyspace

${dbsize.toLocaleString('en-US')} keys: 25% session hashes \`sess:{<uuid>}\` with TTL, 15% \`user:<num>:profile\` and 10%
\`user.<num>.profile\` strings and 5% \`tags:<num>\` sets without TTL (30% without TTL in all), 10% \`refresh:<base64url>\`,
10% \`job:<6-hex>\`, 15% \`cache/product/<num>\`, 5% \`cart:<hex>\` zsets, 5% \`token:<base64url>\`, all with TTL; five big keys
(\`blob:export\` 56 MB string, \`idx:all-users\` set, \`lb:global\` zset, \`q:events\` list, \`cfg:flags\` hash) and fifteen
\`report:<num>\` strings of 0.1 to 1.5 MB. Ground truth: MEMORY USAGE (SAMPLES 5) and PTTL of every key:
${truth.keys.toLocaleString('en-US')} keys, ${truth.withoutTtl.toLocaleString('en-US')} without TTL, ${mb(truth.total)} MB.
The exact 10 largest: ${truth.top10.map(([k, b]) => `\`${k}\` ${mb(b)} MB`).join(', ')}.

## Same run, same keyspace, default options

\`scanKeyspace(conn, {})\` (= \`tidykv-audit scan\` without flags: sample rate 0.01, keys from 8 kB measured exactly,
max block 1 ms, top 10), in its own process. The PING probe is a separate process sending one PING per ms on its own
connection; idle (no tool running, 5 s per round after the probe's 0.5 s warm-up, which every window drops): p50 ${fmt(idlePing.p50, 3)} ms, p99 **${fmt(idlePing.p99, 3)} ms** (rounds: ${rounds.idle.map((p) => fmt(p.p99, 3)).join(', ')} ms).\nEvery figure below is the median of ${ROUNDS} rounds; in each round the tools ran one after the other (idle, scan, \`--bigkeys\`, \`--memkeys\`).

| tool | wall time | server CPU | PING p50 / p99 / max | notes |
|---|---:|---:|---:|---|
${row('tidykv-audit scan', scan, `scan itself ${fmt(rep.durationMs / 1000)} s; ${rep.blocking.scriptCalls} inspection calls, ${rep.blocking.keysPerCall} keys per call at the end, longest ${rep.blocking.maxScriptUs} µs (server-timed); SCAN ≤ ${rep.blocking.maxScanUsPerCall} µs/call (commandstats); peak RSS ${scan.result.maxRssMb.toFixed(0)} MB`)}
${bigkeys ? row('redis-cli --bigkeys', bigkeys, `shows ${bigkeysFound} of the 10 largest (one per type, by length)`) : '| redis-cli --bigkeys | skipped | | | |'}
${memkeys ? row('redis-cli --memkeys', memkeys, `shows ${memkeysFound} of the 10 largest (one per type)`) : '| redis-cli --memkeys | skipped | | | |'}

| target | measured | |
|---|---|---|
| memory totals within 5% of exact MEMORY USAGE over every key | ${mb(rep.memoryBytes)} MB (stated 95% bound ±${mb(rep.memoryErrorBytes)} MB) vs ${mb(truth.total)} MB: **${fmt(memErrPct)}%** | ${met(Math.abs(memErrPct) <= 5)} |
| 10 of the 10 largest keys found | **${topFound}/10**${topExactOrder ? ', same order and bytes as the exact list' : ''} | ${met(topFound === 10)} |
| keys and keys without TTL exact | ${rep.keys.toLocaleString('en-US')} / ${rep.keysWithoutTtl.toLocaleString('en-US')} vs ${truth.keys.toLocaleString('en-US')} / ${truth.withoutTtl.toLocaleString('en-US')} | ${met(rep.keys === truth.keys && rep.keysWithoutTtl === truth.withoutTtl)} |
| wall time ≤ 0.5x \`--memkeys\` | ${memkeys ? `${fmt(scan.wallS)} s vs ${fmt(memkeys.wallS)} s: **${fmt(wallRatio)}x**` : 'not run'} | ${memkeys ? met(wallRatio <= 0.5) : ''} |
| server CPU ≤ 0.5x \`--memkeys\` | ${memkeys ? `${fmt(scan.cpuS)} s vs ${fmt(memkeys.cpuS)} s: **${fmt(cpuRatio)}x**` : 'not run'} | ${memkeys ? met(cpuRatio <= 0.5) : ''} |
| PING p99 during the scan ≤ 1.5x idle | ${fmt(scan.ping.p99, 3)} ms vs ${fmt(idlePing.p99, 3)} ms idle: **${fmt(pingRatio)}x**${memkeys ? ` (\`--memkeys\`: ${fmt(ratio(memkeys.ping.p99, idlePing.p99))}x)` : ''} | ${met(pingRatio <= 1.5)} |
| RSS flat from 1M to 10M keys (within 20%) | ${rss10 ? `${scan.result.maxRssMb.toFixed(0)} MB at ${rep.keys.toLocaleString('en-US')} keys, ${rss10.rss.toFixed(0)} MB at ${rss10.keys.toLocaleString('en-US')} keys (DEBUG POPULATE, scan ${fmt(rss10.s)} s): **${fmt(rssRatio)}x**` : 'not run'} | ${rss10 ? met(rssRatio <= 1.2) : ''} |
| RSS ≤ 200 MB on 1M keys with unrecognised names | **${unrec.maxRssMb.toFixed(0)} MB** peak (${unrec.report.keys.toLocaleString('en-US')} keys like \`abcdefg-hij:klmnopq-rs\`, two free parts each so nothing folds: ${unrec.patternCount} patterns, ${(other?.keys ?? 0).toLocaleString('en-US')} keys under \`<other>\`) | ${met(unrec.maxRssMb <= 200)} |

Peak RSS is the scanning process's \`maxRSS\` (Node itself takes about 50 MB of it).

Patterns found (first 12 of ${scan.result.patternCount}, memory with its 95% bound):

| pattern | keys | no TTL | memory | measured (exactly) |
|---|---:|---:|---:|---:|
${rep.patterns
  .slice(0, 12)
  .map((p) => `| \`${p.pattern}\` | ${p.keys.toLocaleString('en-US')} | ${p.keysWithoutTtl.toLocaleString('en-US')} | ${mb(p.memoryBytes)} MB ±${mb(p.memoryErrorBytes)} | ${p.memorySampledKeys} (${p.memoryExactKeys}) |`)
  .join('\n')}

Seeding (server-side Lua, not part of any measurement): ${seedS.toFixed(1)} s.
`;
writeFileSync(fileURLToPath(new URL('./RESULTS.md', import.meta.url)), md);
console.log('wrote bench/audit/RESULTS.md');
raw.disconnect();
await server.close();
