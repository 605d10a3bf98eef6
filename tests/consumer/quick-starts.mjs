// The READMEs' quick starts, as written, in the consumer apps (issue 12: "each README's quick start
// compiles and runs as written"). run.mjs calls these once an app is built:
//
// - checkQuickStarts: every ```ts block under "## Quick start" of each package README is copied,
//   byte for byte, into the app (src/readme/<package>/<its heading>.ts, e.g. quick-start.ts,
//   one-connection.ts) and compiled by the app's own build with its own TypeScript and tsconfig.
//   A block with no import of its own is a fragment that continues the section's first block
//   (e.g. a custom repository for the quick start's entity): it is compiled after that block, in
//   the same file. The blocks that export an
//   AppModule are then booted by a small main (tests/consumer/readme/*.main.ts: only what the
//   README leaves to the app, i.e. NestFactory, the port, Express `trust proxy` where the README
//   says to set it) against a private redis-server, with REDIS_URL and SESSION_SECRET in the
//   environment, and driven through the scenario the README promises.
// - checkAuditCli: `npx tidykv-audit --help`, and every `npx` command line of the audit README's
//   "Install and run", from the installed tarball, against private servers (a standalone one, and a
//   cluster with replicas for `--cluster ... --replicas`). Only the addresses are replaced, and the
//   password placeholder of the `--user ops` line (the servers get that ACL user); every other flag
//   runs as written.
//
// The READMEs are the input: nothing here edits their code. A quick start that does not compile or
// run is fixed in the README.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const README_PACKAGES = ['core', 'session', 'repository', 'audit'];
const SESSION_SECRET = 'readme-quick-start-secret-0123456789abcdef';
/** A Redis address written into code: a redis:// URL, or a host/port. */
const FIXED_ADDRESS = /['"`]rediss?:\/\/[^'"`]*['"`]|\b(host|port)\s*:\s*['"`\d][^,}]*/;

/** The lines of `markdown` under `heading` (e.g. "## Quick start") up to the next heading of its level or higher. */
export function section(markdown, heading) {
  const lines = markdown.split('\n');
  const level = /^#+/.exec(heading)[0].length;
  let inFence = false;
  let start = -1;
  const out = [];
  for (const [i, line] of lines.entries()) {
    if (/^```/.test(line)) inFence = !inFence;
    const h = !inFence && /^(#+) /.exec(line);
    if (start < 0) {
      if (line.trim() === heading) start = i;
      continue;
    }
    if (h && h[1].length <= level) break;
    out.push(line);
  }
  return start < 0 ? undefined : out.join('\n');
}

/** The contents of the fenced blocks of language `lang` in `text`, as written. */
export function fencedBlocks(text, lang) {
  return [...text.matchAll(new RegExp(`^\`\`\`${lang}[ \\t]*\\n([\\s\\S]*?)^\`\`\`[ \\t]*$`, 'gm'))].map((m) => m[1]);
}

/**
 * Each package README's quick start: its ```ts blocks under "## Quick start", each named after the
 * heading it sits under (`quick-start`, `one-connection`; `-2`, `-3` for more under one heading).
 */
export function quickStarts(root) {
  const out = [];
  for (const pkg of README_PACKAGES) {
    const text = section(readFileSync(join(root, 'packages', pkg, 'README.md'), 'utf8'), '## Quick start');
    if (text === undefined) continue;
    const blocks = [];
    // The text before each block: its last heading names the block.
    const parts = text.split(/^```ts[ \t]*\n[\s\S]*?^```[ \t]*$/m);
    fencedBlocks(text, 'ts').forEach((code, i) => {
      const heading = [...parts.slice(0, i + 1).join('\n').matchAll(/^#+ (.*)$/gm)].at(-1)?.[1] ?? 'Quick start';
      const slug = heading.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
      const same = blocks.filter((b) => b.slug === slug).length;
      blocks.push({ slug, heading, name: same === 0 ? slug : `${slug}-${same + 1}`, code, fragment: !/^import /m.test(code) });
    });
    if (blocks.length > 0) out.push({ pkg, blocks });
  }
  return out;
}

// The blocks that are apps, by package and name: the small main that boots each
// (tests/consumer/readme, importing ./<name>.js) and the scenario run against it.
const SCENARIOS = {
  'session/quick-start': { main: 'session.main.ts', what: 'login over plain HTTP withholds the Secure cookie and warns; behind the trusted proxy login sets it, GET /me reads it, logout ends it', run: sessionScenario },
  'repository/quick-start': { main: 'repository.main.ts', what: 'TokenService issues tokens, finds them by the @Indexed userId with their Date, revokes by it; every key has its TTL', run: repositoryScenario },
  'repository/one-connection': { main: 'repository-one-connection.main.ts', what: 'both modules on the one ioredis client, exactly one connection on the server', run: oneConnectionScenario },
};

// How each app builds the quick starts: its own `npm run build`, except the bundled app, whose
// webpack bundle holds main.ts only; there the app's tsc and tsconfig (target ES2021, no
// useDefineForClassFields) compile them into a folder of their own.
const NEST_BUILD = { build: { cmd: 'npm', args: ['run', 'build'], label: 'nest build' }, outDir: 'dist' };
const BUILDS = {
  bundled: { build: { cmd: 'npx', args: ['--no-install', 'tsc', '-p', 'tsconfig.build.json', '--outDir', 'dist-readme'], label: 'tsc -p tsconfig.build.json, target ES2021' }, outDir: 'dist-readme' },
};

/**
 * Copies the quick starts into the app `name` at `dir`, builds it (BUILDS), and records one check
 * per block (compiles) and per scenario (runs). `cjs`: the app is CommonJS.
 */
export async function checkQuickStarts(name, dir, { cjs, ctx }) {
  const { run, record, tail, here, root } = ctx;
  const { build, outDir } = BUILDS[name] ?? NEST_BUILD;
  const started = Date.now();
  const readmes = quickStarts(root);
  const base = join(dir, 'src/readme');
  rmSync(base, { recursive: true, force: true });
  for (const { pkg, blocks } of readmes) {
    mkdirSync(join(base, pkg), { recursive: true });
    for (const b of blocks) writeFileSync(join(base, pkg, `${b.name}.ts`), b.fragment ? `${blocks[0].code}\n${b.code}` : b.code);
    for (const [key, s] of Object.entries(SCENARIOS)) if (key.startsWith(`${pkg}/`)) copyFileSync(join(here, 'readme', s.main), join(base, pkg, s.main));
  }
  // The mains import ./<name>.js; a CommonJS app writes ./<name>, as run.mjs does for the app's
  // own sources (the README blocks import only packages).
  if (cjs) {
    for (const [key, s] of Object.entries(SCENARIOS)) {
      const file = join(base, key.split('/')[0], s.main);
      if (existsSync(file)) writeFileSync(file, readFileSync(file, 'utf8').replace(/(from '\.{1,2}\/[^']*)\.js'/g, "$1'"));
    }
  }
  const r = await run(build.cmd, build.args, { cwd: dir, log: join(ctx.work, `${name}.readme-build.log`) });
  const built = Date.now();
  const out = ctx.stripAnsi(r.out);
  const errorsOf = (file) => out.split('\n').filter((l) => l.includes(file) && /error TS\d+/.test(l));
  for (const { pkg, blocks } of readmes) {
    for (const b of blocks) {
      const errors = errorsOf(`readme/${pkg}/${b.name}.ts`);
      const how = b.fragment ? ' (a fragment, after the first block)' : '';
      const ok = r.code === 0 || (errors.length === 0 && existsSync(join(dir, outDir, 'readme', pkg, `${b.name}.js`)));
      record(`${name}: packages/${pkg}/README.md ${label(b)}${how} compiles as written (${build.label})`, ok, ok ? '' : errors.join('\n') || `build exit ${r.code}:\n${tail(r.out, 20)}`);
    }
  }
  // A scenario whose block is gone (the README lost or renamed the example) is a failure, not a skip.
  for (const key of Object.keys(SCENARIOS)) {
    const [pkg, block] = key.split('/');
    if (!readmes.some((q) => q.pkg === pkg && q.blocks.some((b) => b.name === block))) record(`${name}: packages/${pkg}/README.md quick start's block ${block} runs`, false, `the README's "## Quick start" has no ts block named ${block} (after its heading) any more; update SCENARIOS in tests/consumer/quick-starts.mjs`);
  }
  if (!existsSync(join(dir, outDir, 'readme'))) return;
  const { RedisProcess } = await import('@tidykv/testing');
  let redis;
  try {
    redis = await startWithRetry(RedisProcess);
  } catch (err) {
    record(`${name}: a private redis-server for the quick starts`, false, String(err instanceof Error ? err.message : err));
    return;
  }
  const client = redis.client();
  const timings = [];
  try {
    for (const { pkg, blocks } of readmes) {
      for (const b of blocks) {
        const s = SCENARIOS[`${pkg}/${b.name}`];
        if (!s) {
          if (/export class AppModule\b/.test(b.code)) console.log(`      (${name}: packages/${pkg}/README.md ${label(b)} is an app with no scenario in quick-starts.mjs: compiled only)`);
          continue;
        }
        const t = Date.now();
        await client.flushall();
        const main = join(outDir, 'readme', pkg, s.main.replace(/\.ts$/, '.js'));
        let problems;
        try {
          // A quick start that names its server would write to a Redis the suite did not start
          // (say, a developer's on 6379): it must take the address from the environment.
          const fixed = FIXED_ADDRESS.exec(b.code);
          if (fixed) problems = [`not run: the block names a fixed Redis address (${fixed[0]}); take it from the environment (process.env.REDIS_URL)`];
          else problems = existsSync(join(dir, main)) ? await s.run({ dir, main, redis, client, ctx }) : [`${main} was not built`];
        } catch (err) {
          problems = [String(err instanceof Error ? err.message : err)];
        }
        record(`${name}: packages/${pkg}/README.md ${label(b)} runs: ${s.what}`, problems.length === 0, problems.join('\n'));
        timings.push(`${pkg}/${b.name} ${((Date.now() - t) / 1000).toFixed(1)} s`);
      }
    }
  } finally {
    await redis.close();
  }
  console.log(`      (${name}: quick starts built in ${((built - started) / 1000).toFixed(1)} s, run in ${((Date.now() - built) / 1000).toFixed(1)} s: ${timings.join(', ')})`);
}

/** How a check names a block: the quick start itself, or the subsection it is in. */
function label(b) {
  const nth = b.name === b.slug ? '' : ` (${b.name.slice(b.slug.length + 1)})`;
  return b.slug === 'quick-start' ? `quick start${nth}` : `quick start's "${b.heading}"${nth}`;
}

/** RedisProcess.start, once more if the first server exits at start (another process took its free port). */
async function startWithRetry(RedisProcess, options) {
  try {
    return await RedisProcess.start(options);
  } catch {
    return RedisProcess.start(options);
  }
}

/** Starts `node <main>` in `dir`; `waitFor(re)` resolves once its output matches, `stop()` ends it. */
function startMain(dir, main, env) {
  const child = spawn(process.execPath, [main], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  return {
    output: () => out,
    exited,
    async waitFor(re, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (!re.test(out)) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${main} exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${out.trim().split('\n').slice(-20).join('\n')}`);
        if (Date.now() > deadline) throw new Error(`${main} printed no ${re} within ${ms / 1000} s:\n${out.trim().split('\n').slice(-20).join('\n')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      return re.exec(out);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
      return code;
    },
  };
}

/** Every key on the server with its type and PTTL (libs/testing's listKeys: SCAN, never KEYS). */
async function keysOf(client) {
  const { listKeys } = await import('@tidykv/testing');
  return listKeys(client);
}

/**
 * packages/session/README.md's quick start: the README sets `cookie: { secure: true }`, so, as its
 * `cookie.secure` row says, a plain-HTTP login is answered without a cookie, creates nothing and
 * logs one warning naming the fix; the main applies that fix (Express `trust proxy`), and a login
 * arriving as HTTPS through the proxy (X-Forwarded-Proto) gets its Secure cookie.
 */
async function sessionScenario({ dir, main, redis, client, ctx }) {
  const port = await ctx.freePort();
  const app = startMain(dir, main, { REDIS_URL: redis.url, SESSION_SECRET, PORT: String(port) });
  const problems = [];
  const expect = (ok, what) => ok || problems.push(what);
  try {
    await app.waitFor(/readme app listening/);
    const base = `http://127.0.0.1:${port}`;
    const json = { 'content-type': 'application/json' };
    const viaProxy = { 'x-forwarded-proto': 'https' };
    const login = JSON.stringify({ userId: 'ada' });

    const plain = await fetch(`${base}/auth/login`, { method: 'POST', headers: json, body: login });
    expect(plain.status === 201, `plain-HTTP login answered ${plain.status}, not 201: ${await plain.text()}`);
    expect(plain.headers.getSetCookie().length === 0, `plain-HTTP login set a cookie: ${plain.headers.getSetCookie().join(' | ')}`);
    // "one warning naming the fix": a second such login logs nothing more.
    const again = await fetch(`${base}/auth/login`, { method: 'POST', headers: json, body: login });
    expect(again.status === 201 && again.headers.getSetCookie().length === 0, `a second plain-HTTP login answered ${again.status} with ${again.headers.getSetCookie().length} cookie(s)`);
    // The app's stdout reaches this process through a pipe, possibly after the response: wait for it.
    const warningsNow = () => app.output().match(/A Secure session cookie was not set[^\n]*trust proxy/g) ?? [];
    for (const deadline = Date.now() + 5000; warningsNow().length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 200));
    const warnings = warningsNow();
    expect(warnings.length === 1, `two plain-HTTP logins logged ${warnings.length} warnings naming the fix, not one`);
    expect((await client.dbsize()) === 0, `plain-HTTP login left ${await client.dbsize()} key(s) in Redis`);

    const secure = await fetch(`${base}/auth/login`, { method: 'POST', headers: { ...json, ...viaProxy }, body: login });
    const setCookie = secure.headers.getSetCookie();
    expect(secure.status === 201, `login through the proxy answered ${secure.status}, not 201`);
    expect(setCookie.length === 1 && /^sid=[^;]+;/.test(setCookie[0]) && /;\s*Secure/i.test(setCookie[0]) && /;\s*HttpOnly/i.test(setCookie[0]), `login through the proxy set no Secure, HttpOnly sid cookie: ${setCookie.join(' | ')}`);
    const cookie = (setCookie[0] ?? '').split(';')[0];
    const keys = await keysOf(client);
    expect(keys.length === 1 && keys[0].type === 'hash' && keys[0].pttl > 29 * 60_000 && keys[0].pttl <= 30 * 60_000, `after login Redis holds ${JSON.stringify(keys)}, not one session hash with the README's 30-minute idle TTL`);

    const me = await fetch(`${base}/me`, { headers: { cookie, ...viaProxy } });
    const meBody = await me.text();
    expect(me.status === 200 && meBody === '{"userId":"ada"}', `GET /me with the cookie answered ${me.status} ${meBody}`);
    const anonymous = await fetch(`${base}/me`, { headers: viaProxy });
    expect(anonymous.status === 401, `GET /me without a cookie answered ${anonymous.status}, not 401`);

    const logout = await fetch(`${base}/auth/logout`, { method: 'POST', headers: { cookie, ...viaProxy } });
    const cleared = logout.headers.getSetCookie();
    expect(logout.status === 201, `logout answered ${logout.status}, not 201`);
    expect(cleared.length === 1 && /^sid=;/.test(cleared[0]) && /(Max-Age=0|Expires=Thu, 01 Jan 1970)/i.test(cleared[0]), `logout did not clear the cookie: ${cleared.join(' | ')}`);
    const after = await fetch(`${base}/me`, { headers: { cookie, ...viaProxy } });
    expect(after.status === 401, `GET /me with the logged-out cookie answered ${after.status}, not 401`);
    expect((await client.dbsize()) === 0, `after logout Redis still holds ${JSON.stringify(await keysOf(client))}`);
  } finally {
    const code = await app.stop();
    expect(code === 0 || code === 'SIGTERM', `the app did not stop on SIGTERM (${code})`);
  }
  return problems;
}

/** packages/repository/README.md's quick start: repository.main.ts drives its TokenService and prints what it got. */
async function repositoryScenario({ dir, main, redis, client }) {
  const app = startMain(dir, main, { REDIS_URL: redis.url });
  const problems = [];
  const expect = (ok, what) => ok || problems.push(what);
  try {
    const [, line] = await app.waitFor(/readme-scenario (.*)\n/);
    const code = await Promise.race([app.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
    expect(code === 0, `the main ended with ${code}:\n${app.output().trim().split('\n').slice(-10).join('\n')}`);
    const { issued, found, revoked, bobAfter } = JSON.parse(line);
    const ada = issued.filter((t) => t.userId === 'ada');
    const bob = issued.filter((t) => t.userId === 'bob');
    const byId = (a, b) => (a.id < b.id ? -1 : 1);
    expect(issued.length === 3 && issued.every((t) => /^[0-9a-f-]{36}$/.test(t.id) && !t.issuedAt.startsWith('not')), `issue() returned ${JSON.stringify(issued)}`);
    expect(JSON.stringify([...found].sort(byId)) === JSON.stringify([...ada].sort(byId)), `findBy('userId', 'ada') found ${JSON.stringify(found)}, not the two tokens issued for ada (${JSON.stringify(ada)}) as RefreshToken instances with their issuedAt Date`);
    expect(revoked === 1, `deleteBy('userId', 'bob') answered ${revoked}, not 1`);
    expect(bobAfter.length === 0, `bob's tokens are still found after revokeAll: ${JSON.stringify(bobAfter)}`);
    const week = 7 * 24 * 3600_000;
    const keys = await keysOf(client);
    const hashes = keys.filter((k) => k.type === 'hash');
    const indexes = keys.filter((k) => k.type === 'zset');
    expect(hashes.length === 2 && ada.every((t) => hashes.some((h) => h.key.includes(t.id))), `the token hashes in Redis are ${JSON.stringify(hashes)}, not ada's two`);
    expect(indexes.length === 1 && /userId/.test(indexes[0].key) && /ada/.test(indexes[0].key), `the index keys in Redis are ${JSON.stringify(indexes)}, not one userId index of ada`);
    expect(keys.length === 3 && keys.every((k) => k.pttl > week - 600_000 && k.pttl <= week), `not every key has the README's 7-day TTL (or there are others): ${JSON.stringify(keys)}`);
    expect(!keys.some((k) => bob.some((t) => k.key.includes(t.id)) || k.key.includes('bob')), `bob's keys are left after revokeAll: ${JSON.stringify(keys)}`);
  } finally {
    await app.stop();
  }
  return problems;
}

/** packages/repository/README.md's "One connection": one client shared by both modules, so one connection on the server. */
async function oneConnectionScenario({ dir, main, redis, client, ctx }) {
  const port = await ctx.freePort();
  const app = startMain(dir, main, { REDIS_URL: redis.url, SESSION_SECRET, PORT: String(port) });
  const problems = [];
  try {
    await app.waitFor(/readme app listening/);
    const own = await client.client('ID');
    const others = async () => String(await client.client('LIST')).trim().split('\n').filter((l) => !l.startsWith(`id=${own} `));
    // Settle: a second connection opened late would show within this time.
    await new Promise((r) => setTimeout(r, 300));
    const conns = await others();
    if (conns.length !== 1) problems.push(`the app holds ${conns.length} connections, not 1:\n${conns.join('\n')}`);
    // Through the shared connection: an anonymous request reaches Nest (no route: 404), and one with
    // a well-formed but unknown session costs nothing.
    const res = await fetch(`http://127.0.0.1:${port}/`);
    if (res.status !== 404) problems.push(`GET / answered ${res.status}, not 404`);
  } finally {
    const code = await app.stop();
    if (code !== 0) problems.push(`the app did not exit cleanly on SIGTERM (${code}):\n${app.output().trim().split('\n').slice(-10).join('\n')}`);
  }
  return problems;
}

/**
 * The audit README's "Install and run" command lines, from the tarball installed in the app at
 * `dir`: `npx tidykv-audit --help`, then each `npx` line as written but for the addresses (a
 * private standalone server for `--url`, a private cluster with replicas for `--cluster`) and the
 * password placeholder of `--user ops` (the standalone server gets that ACL user).
 */
export async function checkAuditCli(name, dir, ctx) {
  const { run, record, tail, root } = ctx;
  const started = Date.now();
  const text = section(readFileSync(join(root, 'packages/audit/README.md'), 'utf8'), '## Install and run') ?? '';
  const lines = fencedBlocks(text, 'sh')
    .join('\n')
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => /^([A-Z_]+=\S+ )*npx /.test(l));
  const { RedisProcess, startRedisCluster } = await import('@tidykv/testing');
  // The smallest cluster with a replica (one master holding every slot, and its replica), started
  // now: it takes seconds to form, which the commands before the --cluster line overlap.
  const clusterStart = lines.some((l) => / --cluster /.test(l)) ? startRedisCluster({ masters: 1, replicasPerMaster: 1 }).catch((err) => err) : Promise.resolve(undefined);
  const help = await run('npx', ['--no-install', 'tidykv-audit', '--help'], { cwd: dir });
  record(`${name}: npx tidykv-audit --help (the tarball's bin) lists scan, orphans and fix`, help.code === 0 && ['scan', 'orphans', 'fix'].every((c) => help.out.includes(c)), help.code === 0 ? '' : tail(help.out));
  // The README's other form, `npx @tidykv/audit ...`, finds the same bin by the package name.
  const byName = await run('npx', ['--no-install', '@tidykv/audit', '--help'], { cwd: dir });
  const same = byName.code === 0 && byName.out === help.out;
  record(`${name}: npx @tidykv/audit --help runs the same CLI`, same, same ? '' : byName.code === 0 ? `another output:\n${tail(byName.out, 10)}` : tail(byName.out));

  record(`${name}: packages/audit/README.md "Install and run" has npx command lines`, lines.length > 0, text ? '' : 'no "## Install and run" section');
  let redis;
  try {
    redis = lines.length > 0 ? await startWithRetry(RedisProcess) : undefined;
  } catch (err) {
    record(`${name}: a private redis-server for the audit README's lines`, false, String(err instanceof Error ? err.message : err));
  }
  if (!redis) {
    const c = await clusterStart;
    if (c && !(c instanceof Error)) await c.close();
    return;
  }
  let cluster;
  const password = 'readme-ops-password';
  const admin = redis.client();
  try {
    await admin.call('ACL', 'SETUSER', 'ops', 'on', `>${password}`, '~*', '&*', '+@all');
    // Something for them to find: keys matching the fix line's --match, without TTL.
    await admin.set('cache:a', '1');
    await admin.set('cache:b', '2');
    for (const line of lines) {
      if (/ --cluster /.test(line) && cluster === undefined) {
        const c = await clusterStart;
        if (c instanceof Error) record(`${name}: a private cluster for the README's --cluster line`, false, c.message);
        else cluster = c;
      }
      const cmd = line
        .replace(/--url \S+/g, `--url ${redis.url}`)
        .replace(/--cluster \S+/g, `--cluster ${cluster ? cluster.nodes.map((n) => `${n.process.host}:${n.process.port}`).join(',') : 'no-cluster:1'}`)
        .replace(/^((?:[A-Z_]+=\S+ )*)/, (env) => env.replace(/(TIDYKV_AUDIT_PASSWORD=)\S+/, `$1${password}`));
      const log = / --log (\S+)/.exec(cmd)?.[1];
      for (const f of [log, / --checkpoint (\S+)/.exec(cmd)?.[1]]) if (f) rmSync(join(dir, f), { force: true });
      const r = await run('sh', ['-c', cmd], { cwd: dir, timeoutMs: 60_000 });
      const problems = [];
      // Bad flags exit 1 too (commander's code, not the README's 2), so the exit code alone does
      // not tell them from findings: an `error:` line fails the line whatever the code.
      const errorLine = /^error: .*$/m.exec(r.out);
      if (errorLine) problems.push(errorLine[0]);
      // The README's exit codes: 0 nothing found, 1 findings, 2 an error. cache:a and cache:b have
      // no TTL, so `scan` and the `fix` dry run over cache:* find them.
      const expected = / (scan|fix) /.test(cmd) ? 1 : 0;
      if (r.code !== expected) problems.push(`exit ${r.code}, not ${expected}:\n${tail(r.out, 20)}`);
      if (/ scan /.test(cmd) && !/cache:a/.test(r.out)) problems.push(`the scan report does not list cache:a:\n${tail(r.out, 20)}`);
      if (log && !existsSync(join(dir, log))) problems.push(`no ${log} written`);
      if (/ fix /.test(cmd) && !/--apply/.test(cmd) && !/^DRY RUN/m.test(r.out)) problems.push(`no DRY RUN report:\n${tail(r.out, 10)}`);
      // `fix` without --apply is a dry run: the keys it would expire keep no TTL.
      if (/ fix /.test(cmd) && !/--apply/.test(cmd) && (await admin.ttl('cache:a')) !== -1) problems.push('the dry run gave cache:a a TTL');
      record(`${name}: audit README: ${line}`, problems.length === 0, problems.join('\n') || `ran: ${cmd}`);
    }
  } finally {
    await redis.close();
    const c = cluster ?? (await clusterStart);
    if (c && !(c instanceof Error)) await c.close();
  }
  console.log(`      (${name}: audit CLI lines run in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
