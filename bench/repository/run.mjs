// Benchmark of @tidykv/repository against raw ioredis doing the same work by hand, in the same
// run, on one private redis-server. Run with `npm run bench:repository` (builds dist first).
//
// - save: tidykv `repo.save(entity)` (one EVALSHA: DEL + HSET + PEXPIRE in a script) vs raw
//   HSET + PEXPIRE in one pipeline, same fields, same encoded bytes.
// - findById: tidykv `repo.findById(id)` vs raw HGETALL + JSON.parse of each field (the least
//   work that yields the same typed object), and vs bare HGETALL for reference.
// - findBy with 10 matches: round trips counted from socket writes, commands from INFO commandstats.
//
// Rounds alternate tidykv and raw so that machine noise hits both; medians are reported.
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { Redis } from 'ioredis';
import { RedisProcess } from '@tidykv/testing';
import { Id, Indexed, RedisEntity, RepositoryContext } from '@tidykv/repository';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const IDS = 10_000;
const TTL_S = 3600;

// Entities declared in plain JS: the decorators applied by hand, as TypeScript would.
// Plain-JS class fields are own properties of `new Token()`, which is how tidykv discovers them.
class Token {
  id;
  userId;
  device;
  issuedAt;
  scopes;
}
Id()(Token.prototype, 'id');
RedisEntity({ keyspace: 'bench-token', ttl: TTL_S })(Token);

class IndexedToken {
  id;
  userId;
}
Id()(IndexedToken.prototype, 'id');
Indexed()(IndexedToken.prototype, 'userId');
RedisEntity({ keyspace: 'bench-itoken', ttl: TTL_S })(IndexedToken);

function makeToken(i) {
  return Object.assign(new Token(), { id: `tok-${i}`, userId: `user-${i % 100}`, device: 'Pixel 8 / Android 15', issuedAt: new Date(1_700_000_000_000 + i), scopes: ['read', 'write'] });
}

const server = await RedisProcess.start();
const raw = new Redis(server.url);
const ctx = RepositoryContext.create({ connection: { url: server.url } });
const tokens = ctx.repository(Token);
const indexed = ctx.repository(IndexedToken);

async function drive(op) {
  let done = 0;
  let i = 0;
  const end = Date.now() + ROUND_MS;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      await op(i++ % IDS);
      done++;
    }
  });
  const t0 = performance.now();
  await Promise.all(workers);
  return (done / (performance.now() - t0)) * 1000;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fields = ['userId', 'device', 'issuedAt', 'scopes'];
const jsonCodec = { encode: (v) => (v instanceof Date ? JSON.stringify({ $d: v.getTime() }) : JSON.stringify(v)) };

const ops = {
  'save (tidykv)': (i) => tokens.save(makeToken(i)),
  'save (raw HSET+PEXPIRE pipeline)': (i) => {
    const t = makeToken(i);
    const args = [];
    for (const f of fields) args.push(f, jsonCodec.encode(t[f]));
    return raw.pipeline().hset(`tkv:bench-token:{${t.id}}`, ...args).pexpire(`tkv:bench-token:{${t.id}}`, TTL_S * 1000).exec();
  },
  'findById (tidykv)': (i) => tokens.findById(`tok-${i}`),
  'findById (raw HGETALL + JSON.parse)': async (i) => {
    const h = await raw.hgetall(`tkv:bench-token:{tok-${i}}`);
    const out = { id: `tok-${i}` };
    for (const k in h) out[k] = JSON.parse(h[k]);
    return out;
  },
  'findById (raw bare HGETALL)': (i) => raw.hgetall(`tkv:bench-token:{tok-${i}}`),
  'save with 1 @Indexed (tidykv)': (i) => indexed.save(Object.assign(new IndexedToken(), { id: `it-${i}`, userId: `user-${i % 100}` })),
};

console.log(`warming up (concurrency ${CONCURRENCY}, ${ROUNDS} ABBA round pairs of ${ROUND_MS} ms per operation)...`);
for (const op of Object.values(ops)) await drive(op);

// Paired comparisons: each round runs the subject and its anchor back to back, in ABBA order,
// so that load from other processes on this shared machine hits both alike; the ratio reported
// is the median of the per-round ratios.
const pairs = [
  ['save (tidykv)', 'save (raw HSET+PEXPIRE pipeline)'],
  ['save with 1 @Indexed (tidykv)', 'save (raw HSET+PEXPIRE pipeline)'],
  ['findById (tidykv)', 'findById (raw HGETALL + JSON.parse)'],
  ['findById (raw bare HGETALL)', 'findById (raw HGETALL + JSON.parse)'],
];
const results = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
const ratios = Object.fromEntries(pairs.map(([a]) => [a, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [subject, anchor] of pairs) {
    const order = r % 2 === 0 ? [subject, anchor, anchor, subject] : [anchor, subject, subject, anchor];
    const got = { [subject]: 0, [anchor]: 0 };
    for (const name of order) {
      const v = await drive(ops[name]);
      got[name] += v / 2;
      results[name].push(v);
    }
    ratios[subject].push(got[subject] / got[anchor]);
  }
  process.stdout.write(`round ${r + 1}/${ROUNDS} done\n`);
}
const med = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
const medRatio = Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, median(v)]));

// findBy with 10 matches: round trips and commands.
for (let i = 0; i < 10; i++) await indexed.save(Object.assign(new IndexedToken(), { id: `ten-${i}`, userId: 'ten' }));
await indexed.findBy('userId', 'ten');
const client = ctx.connection.client;
let writes = 0;
const stream = client.stream;
const write = stream.write;
stream.write = function (...a) {
  writes++;
  return write.apply(this, a);
};
const statsBefore = await commandStats(raw);
const found = await indexed.findBy('userId', 'ten');
const statsAfter = await commandStats(raw);
stream.write = write;
const sent = Object.fromEntries(
  Object.entries(statsAfter)
    .map(([k, v]) => [k, v - (statsBefore[k] ?? 0)])
    .filter(([k, v]) => v > 0 && k !== 'info'),
);

async function commandStats(c) {
  const info = await c.info('commandstats');
  const out = {};
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

const redisVersion = /redis_version:(\S+)/.exec(await raw.info('server'))[1];
await ctx.close();
await raw.quit();
await server.close();

const ratio = (a) => `${(medRatio[a] * 100).toFixed(1)} %`;
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const lines = [
  '# @tidykv/repository benchmark',
  '',
  `- date: ${new Date().toISOString()}`,
  `- machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} x ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, shared with other jobs`,
  `- Node ${process.version}, redis-server ${redisVersion} (private, loopback), ioredis 6`,
  `- command: \`npm run bench:repository\` (concurrency ${CONCURRENCY}, ${ROUNDS} ABBA round pairs of ${ROUND_MS} ms per operation; ops/s = median over runs, ratio = median of per-round paired ratios)`,
  '',
  'Both sides use the same server and concurrency. The anchor is an ioredis client with default options; tidykv uses the client it opens, with a per-command timeout (ioredis `commandTimeout`), which the anchor does not pay for. Targets: save and findById within 15 % of the anchor; findBy with 10 matches in 2 round trips.',
  '',
  '| operation | ops/s (median) | vs anchor (paired) |',
  '|---|---:|---:|',
  `| save (raw ioredis: HSET + PEXPIRE, one pipeline) — anchor | ${fmt(med['save (raw HSET+PEXPIRE pipeline)'])} | 100 % |`,
  `| save (tidykv, no index) | ${fmt(med['save (tidykv)'])} | ${ratio('save (tidykv)')} |`,
  `| save (tidykv, 1 @Indexed property; more work than the anchor) | ${fmt(med['save with 1 @Indexed (tidykv)'])} | ${ratio('save with 1 @Indexed (tidykv)')} |`,
  `| findById (raw ioredis: HGETALL + JSON.parse per field) — anchor | ${fmt(med['findById (raw HGETALL + JSON.parse)'])} | 100 % |`,
  `| findById (tidykv) | ${fmt(med['findById (tidykv)'])} | ${ratio('findById (tidykv)')} |`,
  `| findById (raw bare HGETALL, no decoding; reference) | ${fmt(med['findById (raw bare HGETALL)'])} | ${ratio('findById (raw bare HGETALL)')} |`,
  '',
  `findBy with ${found.length} matches: **${writes} round trips** (socket writes of the client), commands sent by the client: ` +
    `${Object.entries(sent).filter(([k]) => k === 'evalsha' || k === 'hgetall').map(([k, v]) => `${k} ${v}`).join(', ')} ` +
    `(INFO commandstats also lists the calls the script makes inside Redis: ${Object.entries(sent).filter(([k]) => k !== 'evalsha' && k !== 'hgetall').map(([k, v]) => `${k} ${v}`).join(', ')}).`,
  '',
  `Paired ratios per round: ${Object.entries(ratios).map(([k, v]) => `${k}: ${v.map((x) => x.toFixed(2)).join(' ')}`).join('; ')}`,
  '',
  'Raw runs (ops/s):',
  '',
  ...Object.entries(results).map(([k, v]) => `- ${k}: ${v.map(fmt).join(', ')}`),
  '',
];
writeFileSync(new URL('./RESULTS.md', import.meta.url), lines.join('\n'));
console.log(lines.join('\n'));
if (found.length !== 10 || writes !== 2) {
  console.error('findBy did not take 2 round trips for 10 matches');
  process.exit(1);
}
