// Session bench: @tidykv/session vs express-session + connect-redis 8 (the anchor), same Nest app
// shape, same private redis-server, same run. For GET /me (read) and POST /me/visits (write) it
// reports, per request and as ratios tidykv/anchor:
//   - client side: req/s, p99, round trips (socket writes of the app to Redis);
//   - Redis side: INFO commandstats calls (every redis.call inside a script counts) in total and by
//     command, commandstats usec (command time), and Redis CPU (INFO cpu used_cpu_user + used_cpu_sys);
// for the defaults and for the principal index; the near-cache with 1, 2, 4 and 8 app instances;
// and Redis memory per session. Run with `npm run bench:session` on a quiet machine.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { RedisProcess } from '@tidykv/testing';
import { saveSessionDelta } from '../../packages/session/dist/lua/scripts.generated.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const DURATION = Number(process.env.BENCH_SECONDS ?? 6);
const WARMUP = 2;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const SESSIONS_FOR_MEMORY = 200;
const SCALE_INSTANCES = [1, 2, 4, 8];
const SCALE_SESSIONS = 400;
const SCALE_RATE = Number(process.env.BENCH_SCALE_RATE ?? 800);
const SCALE_SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 8);

execFileSync(process.execPath, [fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', `${here}tsconfig.json`], { stdio: 'inherit' });

const redis = await RedisProcess.start();
const probe = new Redis(redis.url);

async function startApp(kind) {
  const child = spawn(process.execPath, [`${here}dist/bench-app.js`, kind, redis.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`${kind} app exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async writes() {
      return (await (await fetch(`${url}/__bench/writes`)).json()).writes;
    },
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

// ---------------------------------------------------------------- Redis-side counters

const PROBE_COMMANDS = new Set(['info', 'config|resetstat', 'config|get', 'ping', 'client|setname', 'client|setinfo', 'select', 'hello', 'client|id', 'subscribe', 'client|tracking', 'memory|usage', 'scan', 'flushall', 'dbsize']);

async function serverSnapshot() {
  const [cpu, stats, net] = await Promise.all([probe.info('cpu'), probe.info('commandstats'), probe.info('stats')]);
  const num = (text, field) => Number(new RegExp(`^${field}:([0-9.]+)`, 'm').exec(text)?.[1] ?? 0);
  const commands = {};
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) commands[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  return { cpuSeconds: num(cpu, 'used_cpu_user') + num(cpu, 'used_cpu_sys'), commands, netOut: num(net, 'total_net_output_bytes') };
}

function serverDelta(before, after, requests) {
  const byCommand = {};
  const usecByCommand = {};
  let calls = 0;
  let usec = 0;
  for (const [cmd, a] of Object.entries(after.commands)) {
    if (PROBE_COMMANDS.has(cmd)) continue;
    const b = before.commands[cmd] ?? { calls: 0, usec: 0 };
    const dc = a.calls - b.calls;
    if (dc <= 0) continue;
    byCommand[cmd] = dc / requests;
    usecByCommand[cmd] = (a.usec - b.usec) / requests;
    calls += dc;
    usec += a.usec - b.usec;
  }
  return {
    calls: calls / requests,
    byCommand,
    usecByCommand,
    usec: usec / requests,
    cpuUs: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / requests,
    netOutBytes: (after.netOut - before.netOut) / requests,
  };
}

function cannon(url, path, method, cookies, duration, extra = {}) {
  let i = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: url + path,
        method,
        connections: CONNECTIONS,
        duration,
        ...extra,
        requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[i++ % cookies.length] } }) }],
      },
      (err, r) => {
        if (err) reject(err);
        else if (r.non2xx > 0 || r.errors > 0) reject(new Error(`${method} ${path}: ${r.non2xx} non-2xx, ${r.errors} errors`));
        else resolve({ rps: r.requests.average, p99: r.latency.p99, requests: r['2xx'] });
      },
    );
  });
}

/** One measured case: client figures, round trips and Redis-side figures per request. */
async function measureCase(app, path, method, cookies) {
  await cannon(app.url, path, method, cookies, WARMUP);
  await probe.config('RESETSTAT');
  const writes = await app.writes();
  const before = await serverSnapshot();
  const client = await cannon(app.url, path, method, cookies, DURATION);
  const after = await serverSnapshot();
  const roundTrips = ((await app.writes()) - writes) / client.requests;
  return { ...client, roundTrips, server: serverDelta(before, after, client.requests) };
}

async function measure(kind) {
  const app = await startApp(kind);
  try {
    const cookie = await login(app.url, 'bench-user');
    const out = { read: await measureCase(app, '/me', 'GET', [cookie]), write: await measureCase(app, '/me/visits', 'POST', [cookie]) };
    if (kind !== 'incumbent') out.increment = await measureCase(app, '/me/visits-atomic', 'POST', [cookie]);
    return out;
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

/**
 * The near-cache with N app instances: SCALE_SESSIONS logged-in users whose requests land on any
 * instance (no sticky sessions): every instance alternates a read (GET /me) and a write
 * (POST /me/visits) of a random session, at a fixed overall rate so that Redis work is comparable
 * across N. A write must invalidate the instances that cached the session: with default-mode
 * tracking only those that read it since its last write; with broadcast tracking every instance.
 * Reported per read+write pair: Redis CPU, commandstats calls and usec, bytes Redis sent
 * (replies plus invalidation pushes).
 */
async function nearCacheScale(kind, n, mix) {
  await probe.flushall();
  const apps = [];
  try {
    for (let i = 0; i < n; i++) apps.push(await startApp(kind));
    const cookies = [];
    for (let i = 0; i < SCALE_SESSIONS; i++) cookies.push(await login(apps[i % n].url, `scale${i}`));
    const pick = (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[Math.floor(Math.random() * cookies.length)] } });
    const run = (app, seconds) =>
      new Promise((resolve, reject) => {
        autocannon(
          {
            url: app.url,
            connections: 4,
            duration: seconds,
            overallRate: Math.max(2, Math.floor(SCALE_RATE / n)),
            requests:
              mix === 'write'
                ? [{ method: 'POST', path: '/me/visits', setupRequest: pick }]
                : [
                    { method: 'GET', path: '/me', setupRequest: pick },
                    { method: 'POST', path: '/me/visits', setupRequest: pick },
                  ],
          },
          (err, r) => (err ? reject(err) : r.non2xx > 0 || r.errors > 0 ? reject(new Error(`${r.non2xx} non-2xx, ${r.errors} errors`)) : resolve(r['2xx'])),
        );
      });
    // Steady state first: every instance has read every session (its touch schedule knows them and
    // its cache holds them), then every session has been written once (those first writes
    // invalidate the copies everywhere), then a second of the mix itself.
    for (const app of apps) await Promise.all(cookies.map((cookie) => fetch(`${app.url}/me`, { headers: { cookie } })));
    await Promise.all(cookies.map((cookie, i) => fetch(`${apps[i % n].url}/me/visits`, { method: 'POST', headers: { cookie } })));
    await Promise.all(apps.map((app) => run(app, 1)));
    await probe.config('RESETSTAT');
    const before = await serverSnapshot();
    const results = await Promise.all(apps.map((app) => run(app, SCALE_SECONDS)));
    const after = await serverSnapshot();
    const pairs = results.reduce((a, r) => a + r, 0) / (mix === 'write' ? 1 : 2);
    return { instances: n, requests: Math.round(pairs), ...serverDelta(before, after, pairs) };
  } finally {
    for (const app of apps) await app.stop();
  }
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
function average(rs) {
  const avg = (get) => mean(rs.map(get));
  const cmds = new Set(rs.flatMap((r) => Object.keys(r.server.byCommand)));
  return {
    rps: avg((r) => r.rps),
    p99: avg((r) => r.p99),
    roundTrips: avg((r) => r.roundTrips),
    server: {
      calls: avg((r) => r.server.calls),
      usec: avg((r) => r.server.usec),
      cpuUs: avg((r) => r.server.cpuUs),
      netOutBytes: avg((r) => r.server.netOutBytes),
      byCommand: Object.fromEntries([...cmds].map((c) => [c, avg((r) => r.server.byCommand[c] ?? 0)])),
      usecByCommand: Object.fromEntries([...cmds].map((c) => [c, avg((r) => r.server.usecByCommand?.[c] ?? 0)])),
    },
  };
}

const rounds = { tidykv: [], incumbent: [] };
// ABBA order, so drift on a shared machine hits both sides alike.
for (const kind of ['tidykv', 'incumbent', 'incumbent', 'tidykv']) {
  await probe.flushall();
  rounds[kind].push(await measure(kind));
  console.log(kind, JSON.stringify(rounds[kind].at(-1)));
}
const variants = {};
for (const kind of ['tidykv-principal', 'tidykv-near-cache', 'tidykv-no-als']) {
  await probe.flushall();
  variants[kind] = await measure(kind);
  console.log(kind, JSON.stringify(variants[kind]));
}
const scale = { 'tidykv-near-cache': [], 'tidykv-near-cache-bcast': [] };
// The control ('tidykv', no near-cache, no tracking at all) runs the same N processes: whatever of the
// growth with N it shows too comes from N Node processes sharing the machine's cores with Redis
// (preempted commands, more sockets per event loop turn), not from invalidation.
const scaleWrites = { 'tidykv-near-cache': [], 'tidykv-near-cache-bcast': [], tidykv: [] };
for (const kind of Object.keys(scaleWrites)) {
  for (const n of SCALE_INSTANCES) {
    if (scale[kind]) {
      scale[kind].push(await nearCacheScale(kind, n, 'read-write'));
      console.log(kind, 'read-write', JSON.stringify(scale[kind].at(-1)));
    }
    scaleWrites[kind].push(await nearCacheScale(kind, n, 'write'));
    console.log(kind, 'write', JSON.stringify(scaleWrites[kind].at(-1)));
  }
}
// ---------------------------------------------------------------- the floor of one script call
// redis-benchmark (20 clients, nothing else running on the server) against the same private Redis:
// what one command costs the server when no app shares the cores. Shows what a design that keeps
// the no-resurrection guarantee in one round trip (one script call) can reach at best.
async function commandFloor() {
  const bin = ['redis-benchmark', '/usr/bin/redis-benchmark'].find((b) => {
    try {
      execFileSync(b, ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!bin) return undefined;
  const { port } = new URL(redis.url);
  await probe.flushall();
  await probe.hset('tkv:s:{floor}x', '#c', '1733000000000', '#a', '0', 'userId', 'u1', 'visits', '1');
  await probe.set('sess:floor', JSON.stringify({ cookie: { originalMaxAge: 1800000, expires: new Date().toISOString(), httpOnly: true, path: '/' }, userId: 'u1', visits: 1 }));
  const delta = await probe.script('LOAD', saveSessionDelta.lua);
  const one = await probe.script('LOAD', 'return 1');
  const hsetOnly = await probe.script('LOAD', "return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])");
  let fcall = true;
  try {
    await probe.call('FUNCTION', 'LOAD', 'REPLACE', "#!lua name=tidykvbench\nredis.register_function('hsetonly', function(k, a) return redis.call('HSET', k[1], a[1], a[2]) end)");
  } catch {
    fcall = false;
  }
  const value = (await probe.get('sess:floor')) ?? '';
  const cases = [
    ['GET (anchor read)', ['GET', 'sess:floor'], 'get'],
    ['SET EX (anchor write)', ['SET', 'sess:floor', value, 'EX', '1800'], 'set'],
    ['HGETALL (tidykv load)', ['HGETALL', 'tkv:s:{floor}x'], 'hgetall'],
    ['EVALSHA saveSessionDelta, 1 attribute (tidykv common write)', ['EVALSHA', delta, '1', 'tkv:s:{floor}x', '1733000000000', '1', '0', 'visits', '2'], 'evalsha'],
    ['EVALSHA `return 1` (a script that does nothing)', ['EVALSHA', one, '0'], 'evalsha'],
    ['EVALSHA one HSET', ['EVALSHA', hsetOnly, '1', 'tkv:s:{floor}x', 'visits', '2'], 'evalsha'],
    ...(fcall ? [['FCALL one HSET (Redis Functions)', ['FCALL', 'hsetonly', '1', 'tkv:s:{floor}x', 'visits', '2'], 'fcall']] : []),
  ];
  const out = [];
  for (const [label, args, cmd] of cases) {
    await probe.config('RESETSTAT');
    const cpuNow = async () => {
      const t = await probe.info('cpu');
      return Number(/used_cpu_user:([\d.]+)/.exec(t)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(t)[1]);
    };
    const cpu0 = await cpuNow();
    execFileSync(bin, ['-p', port, '-c', '20', '-n', '200000', '-q', ...args], { stdio: 'ignore' });
    const stats = await probe.info('commandstats');
    const cpu1 = await cpuNow();
    const m = new RegExp(`cmdstat_${cmd}:calls=(\\d+),usec=(\\d+)`).exec(stats);
    const nested = [...stats.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)].filter(([, c]) => c !== cmd && c !== 'config' && c !== 'info').map(([, c, calls]) => `${c} ${(Number(calls) / Number(m[1])).toFixed(2)}`);
    out.push({ label, usecPerCall: Number(m[2]) / Number(m[1]), cpuUsPerCall: ((cpu1 - cpu0) * 1e6) / Number(m[1]), nested: nested.join(', ') });
  }
  if (fcall) await probe.call('FUNCTION', 'DELETE', 'tidykvbench');
  await probe.flushall();
  return out;
}
const floor = await commandFloor();
console.log('floor', JSON.stringify(floor));

const mem = {
  tidykv: await memory('tidykv', /^tkv:s:/),
  tidykvPrincipal: await memory('tidykv-principal', /^tkv:s:/),
  incumbent: await memory('incumbent', /^sess:/),
};
const redisVersion = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1];
const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
await probe.quit();
await redis.close();

const T = { read: average(rounds.tidykv.map((r) => r.read)), write: average(rounds.tidykv.map((r) => r.write)), increment: average(rounds.tidykv.map((r) => r.increment)) };
const I = { read: average(rounds.incumbent.map((r) => r.read)), write: average(rounds.incumbent.map((r) => r.write)) };
const P = { read: average([variants['tidykv-principal'].read]), write: average([variants['tidykv-principal'].write]), increment: average([variants['tidykv-principal'].increment]) };
const f = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const x = (a, b) => `${(a / b).toFixed(2)}x`;
const byCmd = (s) =>
  Object.entries(s.byCommand)
    .filter(([, v]) => v >= 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
// commandstats counts a script's nested calls twice in usec: in the EVALSHA's own time and in
// theirs. "Server time" counts them once: the time of the commands the app sent itself. Which
// those were is checked, not assumed: the calls of the commands the app sends directly (reads,
// EVALSHA, and everything the anchor sends) must add up to the round trips counted in the app
// (neither side pipelines), so every other call ran inside a script. n/a when they do not.
const DIRECT = new Set(['get', 'set', 'expire', 'hgetall', 'hmget', 'evalsha', 'eval', 'unlink']);
const serverTime = (s) => {
  const direct = Object.entries(s.server.byCommand).filter(([c]) => DIRECT.has(c));
  const directCalls = direct.reduce((a, [, v]) => a + v, 0);
  if (Math.abs(directCalls - s.roundTrips) > 0.05) return NaN;
  return direct.reduce((a, [c]) => a + (s.server.usecByCommand[c] ?? 0), 0);
};
const serverRow = (label, s, anchor) =>
  `| ${label} | ${f(s.roundTrips, 2)} | ${f(s.server.calls, 2)} | ${f(s.server.usec, 2)} | ${anchor ? x(s.server.usec, anchor.server.usec) : '1.00x'} | ${f(serverTime(s), 2)} | ${anchor ? x(serverTime(s), serverTime(anchor)) : '1.00x'} | ${f(s.server.cpuUs, 1)} | ${anchor ? x(s.server.cpuUs, anchor.server.cpuUs) : '1.00x'} | ${byCmd(s.server)} |`;
const rpsRow = (label, t, i) => `| ${label} | ${f(t.rps)} | ${f(i.rps)} | **${x(t.rps, i.rps)}** | ${f(t.p99, 1)} | ${f(i.p99, 1)} | ${(t.p99 / i.p99).toFixed(2)} |`;
const variantRow = (label, v) => `| ${label} | ${f(v.read.rps)} | ${x(v.read.rps, I.read.rps)} | ${f(v.read.p99, 1)} | ${f(v.write.rps)} | ${x(v.write.rps, I.write.rps)} | ${f(v.write.p99, 1)} |`;
const SCALE_LABEL = { 'tidykv-near-cache': 'default-mode tracking (tidykv)', 'tidykv-near-cache-bcast': 'broadcast tracking (previous design)', tidykv: 'no near-cache, no tracking (control)' };
const scaleRows = (kind, table = scale) =>
  table[kind]
    .map((r) => `| ${SCALE_LABEL[kind]} | ${r.instances} | ${r.requests} | ${f(r.calls, 2)} | ${f(r.usec, 2)} | ${f(r.cpuUs, 1)} | ${f(r.netOutBytes, 0)} |`)
    .join('\n');
const spread = (kind, key, table = scale) => {
  const v = table[kind].map((r) => r[key]);
  return `${x(v.at(-1), v[0])}`;
};

const md = `# @tidykv/session bench results

- Date: ${new Date().toISOString()}; load average at the end: ${load}
- Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${os.type()} ${os.release()}; Node ${process.version}; redis-server ${redisVersion}
- Command: \`npm run bench:session\` (bench/session/run.mjs)
- Shape: one Nest 12 app on Express per side, in its own process, against one private redis-server; autocannon ${CONNECTIONS} connections,
  ${DURATION} s per case after a ${WARMUP} s warm-up, two rounds per side in ABBA order (means shown). One logged-in session is hit by every request.
- Anchor: express-session 1.19 + connect-redis 8.1 (ioredis client, \`resave: false\`, \`saveUninitialized: false\`, cookie maxAge 30 min).
- tidykv: \`SessionModule.forRoot({ idleTimeoutMs: 1800000 })\`, defaults otherwise (touch interval 60 s, no near-cache, AsyncLocalStorage on).
  \`POST /me/visits\` is a get + set of the attribute (what the anchor does); \`POST /me/visits-atomic\` is \`session.increment\`.
- Redis side: INFO commandstats deltas per request (CONFIG RESETSTAT before each case; every \`redis.call\` inside a script counts),
  usec = commandstats command time summed over every command (a script's nested calls count twice: in the EVALSHA's time,
  which includes them, and in their own), server time = the same with nested calls counted once (the commands the app sent;
  checked against the round trips), CPU = INFO cpu used_cpu_user + used_cpu_sys delta (includes network I/O). Round trips = socket
  writes of the app process to Redis, counted in the app (neither side pipelines).

## Per request, Redis side

| case | round trips | commandstats calls | usec | usec vs anchor | server time µs | vs anchor | Redis CPU µs | CPU vs anchor | calls by command |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---|
${serverRow('anchor read `GET /me`', I.read)}
${serverRow('tidykv read (defaults)', T.read, I.read)}
${serverRow('tidykv read (principal index)', P.read, I.read)}
${serverRow('anchor write `POST /me/visits`', I.write)}
${serverRow('tidykv write (defaults)', T.write, I.write)}
${serverRow('tidykv write (principal index)', P.write, I.write)}
${serverRow('tidykv `increment` (defaults)', T.increment, I.write)}
${serverRow('tidykv `increment` (principal index)', P.increment, I.write)}

Targets (issue 9): calls per write <= 3 (defaults) / <= 4 (principal index) when no touch is due, per read <= 1; command time per
write <= 2x the anchor's, per read <= 1x; Redis CPU per request <= the anchor's.

## Throughput

| case | tidykv req/s | anchor req/s | ratio | tidykv p99 ms | anchor p99 ms | p99 ratio (lower is better) |
|---|---:|---:|---:|---:|---:|---:|
${rpsRow('read `GET /me`', T.read, I.read)}
${rpsRow('write `POST /me/visits`', T.write, I.write)}

Variants (one round each, same run; ratios against the anchor's means above):

| variant | read req/s | read ratio | read p99 ms | write req/s | write ratio | write p99 ms |
|---|---:|---:|---:|---:|---:|---:|
${variantRow('`principal: "userId"` (principal index)', variants['tidykv-principal'])}
${variantRow('`nearCache: true` (reads served in process)', variants['tidykv-near-cache'])}
${variantRow('`asyncContext: false` (no AsyncLocalStorage)', variants['tidykv-no-als'])}

## Near-cache at scale: Redis work per write with N app instances

${SCALE_SESSIONS} sessions; every instance alternates GET /me and POST /me/visits of a random session (no sticky sessions), at
${SCALE_RATE} requests/s overall for ${SCALE_SECONDS} s, measured in steady state (every instance has read every session, every
session has been written once, then 1 s of the mix). Per read+write pair:

| tracking | instances | pairs | commandstats calls | usec | Redis CPU µs | bytes Redis sent |
|---|---:|---:|---:|---:|---:|---:|
${scaleRows('tidykv-near-cache')}
${scaleRows('tidykv-near-cache-bcast')}

8 vs 1 instance, default mode: Redis CPU ${spread('tidykv-near-cache', 'cpuUs')}, bytes sent ${spread('tidykv-near-cache', 'netOutBytes')}; broadcast: Redis CPU ${spread('tidykv-near-cache-bcast', 'cpuUs')}, bytes sent ${spread('tidykv-near-cache-bcast', 'netOutBytes')}.
In this mix a write invalidates at most the one instance that read the session since its last write (none when that
is the writer itself, as with 1 instance): the rest of the growth is reads that miss on instances which have not read that
session since it changed (a cache cannot hit on a copy it does not hold), not per-instance pushes.

Writes only (every instance sends POST /me/visits of random sessions; each request loads, then writes), per write:

| tracking | instances | writes | commandstats calls | usec | Redis CPU µs | bytes Redis sent |
|---|---:|---:|---:|---:|---:|---:|
${scaleRows('tidykv-near-cache', scaleWrites)}
${scaleRows('tidykv-near-cache-bcast', scaleWrites)}
${scaleRows('tidykv', scaleWrites)}

8 vs 1 instance, default mode: commandstats calls ${spread('tidykv-near-cache', 'calls', scaleWrites)}, usec ${spread('tidykv-near-cache', 'usec', scaleWrites)}, Redis CPU ${spread('tidykv-near-cache', 'cpuUs', scaleWrites)}, bytes sent ${spread('tidykv-near-cache', 'netOutBytes', scaleWrites)}; broadcast: Redis CPU ${spread('tidykv-near-cache-bcast', 'cpuUs', scaleWrites)}, bytes sent ${spread('tidykv-near-cache-bcast', 'netOutBytes', scaleWrites)}; control without any tracking: usec ${spread('tidykv', 'usec', scaleWrites)}, Redis CPU ${spread('tidykv', 'cpuUs', scaleWrites)}, bytes sent ${spread('tidykv', 'netOutBytes', scaleWrites)}.
Default mode against the control at 8 instances: Redis CPU ${x(scaleWrites['tidykv-near-cache'].at(-1).cpuUs, scaleWrites.tidykv.at(-1).cpuUs)}, usec ${x(scaleWrites['tidykv-near-cache'].at(-1).usec, scaleWrites.tidykv.at(-1).usec)}, bytes sent ${x(scaleWrites['tidykv-near-cache'].at(-1).netOutBytes, scaleWrites.tidykv.at(-1).netOutBytes)} (at 1 instance: CPU ${x(scaleWrites['tidykv-near-cache'][0].cpuUs, scaleWrites.tidykv[0].cpuUs)}).
(The broadcast rows add, to the same app, the tracking the previous design did per instance: \`CLIENT TRACKING on BCAST PREFIX tkv:s:\`.)

## The floor: one command alone, with no app on the machine

\`redis-benchmark -c 20 -n 200000\` against the same private Redis after the app runs (nothing else on the server), per call:
commandstats usec of the command itself (a script's includes its nested calls) and Redis CPU (includes network I/O).

${floor ? `| command | usec per call | Redis CPU µs per call | nested calls |
|---|---:|---:|---|
${floor.map((r) => `| ${r.label} | ${r.usecPerCall.toFixed(2)} | ${r.cpuUsPerCall.toFixed(2)} | ${r.nested || '-'} |`).join('\n')}

Anchor write (GET + SET) ${(floor[0].usecPerCall + floor[1].usecPerCall).toFixed(2)} µs against tidykv's common write (HGETALL + saveSessionDelta)
${(floor[2].usecPerCall + floor[3].usecPerCall).toFixed(2)} µs: ${x(floor[2].usecPerCall + floor[3].usecPerCall, floor[0].usecPerCall + floor[1].usecPerCall)}. A script that does nothing costs
${x(floor[4].usecPerCall, floor[0].usecPerCall)} a GET, and a script doing one HSET ${x(floor[5].usecPerCall, floor[0].usecPerCall + floor[1].usecPerCall)} the anchor's whole write: with the
guarantee kept in one atomic round trip (a script), the write cannot come within 2x of the anchor's command time on this server.` : 'redis-benchmark was not found: section skipped.'}

## Memory per session

Redis memory per session holding a userId and a visits counter (MEMORY USAGE summed over every key, divided by ${SESSIONS_FOR_MEMORY} sessions):

| | bytes per session | ratio vs anchor |
|---|---:|---:|
| anchor (connect-redis string) | ${f(mem.incumbent)} | 1.00 |
| tidykv (one hash) | ${f(mem.tidykv)} | **${(mem.tidykv / mem.incumbent).toFixed(2)}** |
| tidykv with the principal index on (hash + its share of the index zset) | ${f(mem.tidykvPrincipal)} | ${(mem.tidykvPrincipal / mem.incumbent).toFixed(2)} |

The machine is shared (2 cores for the app, autocannon and Redis), so absolute figures move between runs; every ratio is
against the anchor measured in the same run.

Raw: \`${JSON.stringify({ rounds, variants, scale, scaleWrites, floor })}\`
`;
writeFileSync(new URL('RESULTS.md', import.meta.url), md);
console.log(md);
