// Benchmark of `tidykv-audit scan` (the library call behind it) on 1,000,000 keys, against the
// anchor operators reach for first: a bash loop calling `redis-cli` once per key (TYPE + PTTL),
// measured on a subset in the same run and extrapolated per key.
// Run with `npm run bench:audit` (builds dist first). Starts its own private redis-server.
//
// Env: BENCH_KEYS (default 1000000), BENCH_ROUNDS (3), BENCH_BASELINE_KEYS (2000).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RedisProcess } from '@tidykv/testing';
import { RedisConnection } from '@tidykv/core';
import { findOrphans, scanKeyspace } from '@tidykv/audit';

const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BASELINE_KEYS = Number(process.env.BENCH_BASELINE_KEYS ?? 2000);

// A realistic mix: sessions (hashes with TTL), profiles without TTL, caches, sets and zsets.
const SEED = `
local from, to = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = from, to do
  local k = i % 10
  if k < 3 then
    local key = string.format('sess:{%08x-3d4a-4b6c-8d7e-%012x}', i, i)
    redis.call('HSET', key, 'uid', i, 'at', 1700000000000 + i)
    redis.call('PEXPIRE', key, 1800000 + (i % 3600) * 1000)
  elseif k < 5 then
    redis.call('SET', 'user:' .. i .. ':profile', 'name-' .. i)
  elseif k < 8 then
    redis.call('SET', string.format('cache:%016x', i * 2654435761), 'v', 'EX', 60 + (i % 86400))
  elseif k < 9 then
    redis.call('SADD', 'tags:' .. i, 'a', 'b', 'c')
  else
    redis.call('ZADD', 'lb:' .. i, 1, 'x', 2, 'y')
    redis.call('EXPIRE', 'lb:' .. i, 604800 * 2)
  end
end
return to - from + 1
`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const loadAtStart = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
const server = await RedisProcess.start();
const raw = new Redis(server.url);
const redisVersion = /redis_version:(\S+)/.exec(await raw.info('server'))[1];

let t = performance.now();
for (let from = 0; from < KEYS; from += 100_000) await raw.eval(SEED, 0, from, Math.min(KEYS, from + 100_000) - 1);
const seedS = (performance.now() - t) / 1000;
const dbsize = await raw.dbsize();
console.log(`seeded ${dbsize} keys in ${seedS.toFixed(1)} s (redis ${redisVersion})`);

const conn = RedisConnection.create({ url: server.url, commandTimeoutMs: 30_000 });
const runs = [];
let report;
for (let r = 0; r < ROUNDS; r++) {
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  t = performance.now();
  report = await scanKeyspace(conn, { memorySampleRate: 0.01 });
  const s = (performance.now() - t) / 1000;
  const rssMb = (process.memoryUsage().rss - rssBefore) / 1e6;
  runs.push({ s, rssMb });
  console.log(`tidykv scan round ${r + 1}: ${report.keys} keys in ${s.toFixed(2)} s (${Math.round(report.keys / s).toLocaleString('en-US')} keys/s), ${report.patterns.length} patterns, RSS +${rssMb.toFixed(0)} MB`);
}
if (report.keys !== dbsize) throw new Error(`scan saw ${report.keys} keys, DBSIZE says ${dbsize}`);
const scanS = median(runs.map((x) => x.s));

// For reference (no anchor): `orphans` walks the same keyspace, classifying every key.
t = performance.now();
const orphans = await findOrphans(conn, {});
const orphansS = (performance.now() - t) / 1000;
console.log(`tidykv orphans: ${orphans.keysScanned} keys in ${orphansS.toFixed(2)} s, ${orphans.findingsTotal} findings`);

// Anchor: one redis-cli process per key, as in `redis-cli --scan | while read k; do ...; done`.
const subset = spawnSync('bash', ['-c', `redis-cli -h ${server.host} -p ${server.port} --scan | head -n ${BASELINE_KEYS}`], { encoding: 'utf8', maxBuffer: 1 << 26 });
const keysFile = `${os.tmpdir()}/tidykv-audit-bench-keys.txt`;
writeFileSync(keysFile, subset.stdout);
if (subset.stdout.trim().split('\n').length !== BASELINE_KEYS) throw new Error('could not list the baseline subset (is redis-cli installed? apt-get install -y redis-tools)');
const script = `set -e
while read -r k; do
  printf 'TYPE "%s"\\nPTTL "%s"\\n' "$k" "$k" | redis-cli -h ${server.host} -p ${server.port} > /dev/null
done < ${keysFile}`;
t = performance.now();
const b = spawnSync('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
if (b.status !== 0) throw new Error('baseline bash loop failed (is redis-cli installed? apt-get install -y redis-tools)');
const baseS = (performance.now() - t) / 1000;
const perKeyMs = (baseS * 1000) / BASELINE_KEYS;
const baseFullS = (perKeyMs * dbsize) / 1000;
console.log(`bash + redis-cli per key: ${BASELINE_KEYS} keys in ${baseS.toFixed(1)} s = ${perKeyMs.toFixed(2)} ms/key -> ${(baseFullS / 60).toFixed(0)} min for ${dbsize} keys (extrapolated)`);
const ratio = baseFullS / scanS;
console.log(`tidykv-audit scan is ${Math.round(ratio).toLocaleString('en-US')}x faster than the bash loop (target: full scan < 15 s: ${scanS < 15 ? 'met' : 'MISSED'})`);

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const md = `# bench/audit results

Generated by \`npm run bench:audit\` (bench/audit/run.mjs) on ${new Date().toISOString().slice(0, 10)}.
Machine: ${os.cpus().length} x ${cpu}, Node ${process.version}, Redis ${redisVersion} (private server, loopback);
load average when the run started ${loadAtStart} (the machine is shared; Redis and the scanner share its cores).

## Full scan, ${dbsize.toLocaleString('en-US')} keys

Mix: 30% session hashes with TTL (\`sess:{<uuid>}\`), 20% profile strings without TTL
(\`user:<num>:profile\`), 30% cache strings with TTL (\`cache:<hex>\`), 10% sets without TTL,
10% sorted sets with TTL. \`scanKeyspace(conn, { memorySampleRate: 0.01 })\`: SCAN COUNT 1000,
TYPE + PTTL of each batch in one EVALSHA_RO call (read-only script), 4 batches in flight per node,
MEMORY USAGE on 1% of keys (pipelined with the batch).

| | time | keys/s | notes |
|---|---:|---:|---|
| tidykv-audit scan (median of ${ROUNDS}) | **${scanS.toFixed(2)} s** | ${Math.round(dbsize / scanS).toLocaleString('en-US')} | rounds: ${runs.map((x) => `${x.s.toFixed(2)} s`).join(', ')}; RSS growth ${runs.map((x) => `${x.rssMb.toFixed(0)} MB`).join(', ')} |
| bash loop, one \`redis-cli\` per key (TYPE + PTTL), ${BASELINE_KEYS.toLocaleString('en-US')}-key subset | ${baseS.toFixed(1)} s for the subset (${perKeyMs.toFixed(2)} ms/key) | ${Math.round(1000 / perKeyMs).toLocaleString('en-US')} | extrapolated to ${dbsize.toLocaleString('en-US')} keys: **${(baseFullS / 60).toFixed(0)} min** |

- Ratio (anchor / tidykv, same run): **${Math.round(ratio).toLocaleString('en-US')}x**.
- Target "full scan of 1,000,000 keys with TTL and type checks, memory sampled at 1%, under 15 s": **${scanS < 15 ? 'met' : 'missed'}** (${scanS.toFixed(2)} s).
- The scan found ${report.patterns.length} patterns and ${report.keysWithoutTtl.toLocaleString('en-US')} keys without TTL; it sent only SCAN, EVALSHA_RO (TYPE and PTTL inside), MEMORY USAGE, DBSIZE and INFO.
- For reference, \`findOrphans\` over the same ${dbsize.toLocaleString('en-US')} keys (one run, no anchor): ${orphansS.toFixed(2)} s, ${orphans.findingsTotal} findings (the mix has no Spring or tidykv layouts).
- Seeding (a Lua loop, not measured as part of anything): ${seedS.toFixed(1)} s.

The anchor is extrapolated linearly from its subset: its cost is one process start and one
connection per key, which does not depend on the keyspace size.
`;
writeFileSync(fileURLToPath(new URL('./RESULTS.md', import.meta.url)), md);
console.log('wrote bench/audit/RESULTS.md');

await conn.close();
raw.disconnect();
await server.close();
