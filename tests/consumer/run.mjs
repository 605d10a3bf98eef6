// The consumer suite (`npm run test:consumer`; `npm test` runs it last): the four packages as their
// users get them. It packs them (`npm pack`), checks the tarballs, lays out three apps the way
// `nest new` does in a temporary folder outside the repository, installs the tarballs into them
// with npm from the registry (`--prefer-offline`: a warm npm cache is used as is), and for each
// app: builds it, runs its own e2e test through the packages against a private redis-server, and
// starts its built output (node dist/main.js), logs in, reads /me, and stops it. Then it builds
// and runs the READMEs' quick starts, as written, in the app (quick-starts.mjs), and the audit
// README's command lines from the installed tarball (once).
//
//   nest11-cjs  Nest 11, CommonJS, the `nest new` v11 tsconfig and its Jest + ts-jest e2e setup,
//               TypeScript 5.7.3 (the template's and tidykv's minimum), `nest build`
//   nest12-esm  Nest 12, ES modules (`nest new --type esm`: "type": "module", vitest), TypeScript 6
//   bundled     the Nest 11 app with `target: ES2021` and no useDefineForClassFields (the classic
//               setting), bundled by `nest build --webpack` with @tidykv/* inside the bundle; its
//               e2e test runs on the bundle after node_modules/@tidykv is removed
//
// The app sources are tests/consumer/app (shared; relative imports end in .js as ES modules need,
// and are rewritten without it for the CommonJS apps, as `nest new` writes them); each app's own
// files (package.json, tsconfig, test config) are in tests/consumer/<app>.
//
// Usage: node tests/consumer/run.mjs [app ...] [--update-locks]
//   (TIDYKV_CONSUMER_KEEP=1 keeps the temp folder; --update-locks rewrites each app's
//   package-lock.json from a fresh resolution, after changing its package.json or the packages'
//   dependencies)
// Needs the packages built (npm run build) and redis-server on the PATH. Writes
// .test-results/consumer.json for scripts/test-summary.mjs.
import { spawn } from 'node:child_process';
import { accessSync, constants, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAuditCli, checkQuickStarts } from './quick-starts.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const PACKAGES = ['core', 'session', 'repository', 'audit'];

const APPS = {
  'nest11-cjs': { cjs: true, tests: ['scenario.ts', 'redis-server.ts', 'app.e2e-spec.ts', 'audit.e2e-spec.ts'], runner: 'jest' },
  'nest12-esm': { cjs: false, tests: ['scenario.ts', 'redis-server.ts', 'app.e2e-spec.ts', 'audit.e2e-spec.ts'], runner: 'vitest' },
  bundled: { cjs: true, tests: ['scenario.ts', 'redis-server.ts', 'built.e2e-spec.ts'], runner: 'jest', bundle: true },
};

const selected = process.argv.slice(2).filter((a) => !a.startsWith('-'));
// --update-locks: install afresh from package.json and write the lockfiles back to tests/consumer.
const updateLocks = process.argv.includes('--update-locks');
for (const a of selected) if (!APPS[a]) throw new Error(`unknown app ${a}; one of ${Object.keys(APPS).join(', ')}`);
const apps = selected.length > 0 ? selected : Object.keys(APPS);

/** Every check, in order: what was checked, whether it passed, and why not. */
const checks = [];
function record(name, ok, detail = '') {
  checks.push({ name, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'}  ${name}${detail ? `\n      ${detail.split('\n').join('\n      ')}` : ''}`);
}

function run(cmd, args, { cwd, env, log, timeoutMs = 5 * 60_000 }) {
  return new Promise((resolve) => {
    const started = Date.now();
    // Its own process group, so that a time-out ends npm and everything it started.
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[consumer: killed after ${timeoutMs / 1000} s]\n`;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (log) writeFileSync(log, out);
      resolve({ code: code ?? (signal ? 128 : 1), out, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const stripAnsi = (text) => text.replace(ANSI, '');
/** A folder we may write to and run binaries from (native addons load from node_modules). */
function isWritableDir(dir) {
  try {
    accessSync(dir, constants.W_OK);
    const mount = readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === dir);
    return statSync(dir).isDirectory() && mount !== undefined && !mount.split(' ')[3].split(',').includes('noexec');
  } catch {
    return false;
  }
}

const tail = (text, n = 40) => stripAnsi(text).trim().split('\n').slice(-n).join('\n');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// --- the tarballs ---------------------------------------------------------------------------

for (const p of PACKAGES) {
  if (!existsSync(join(root, 'packages', p, 'dist/index.js'))) {
    console.error(`consumer: packages/${p}/dist is missing; run \`npm run build\` first.`);
    process.exit(2);
  }
}

// Three node_modules trees of some 700 packages each: on tmpfs (RAM) when the machine has one,
// installing and removing them is IO the disk is spared. TIDYKV_CONSUMER_DIR picks another parent.
const parent = process.env.TIDYKV_CONSUMER_DIR ?? (isWritableDir('/dev/shm') ? '/dev/shm' : tmpdir());
const work = mkdtempSync(join(parent, 'tidykv-consumer-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);
console.log(`consumer: working in ${work}`);
const suiteStarted = Date.now();

const tarballOf = {};
for (const p of PACKAGES) {
  const r = await run('npm', ['pack', '--json', '--pack-destination', tarballs, join(root, 'packages', p)], { cwd: root });
  if (r.code !== 0) {
    record(`@tidykv/${p}: npm pack`, false, tail(r.out));
    continue;
  }
  const [info] = JSON.parse(r.out.slice(r.out.indexOf('[')));
  tarballOf[p] = join(tarballs, info.filename);
  const files = info.files.map((f) => f.path);
  const junk = files.filter((f) => /\.tsbuildinfo$|\.map$|^src\//.test(f));
  record(`@tidykv/${p}: the tarball holds no build info, source maps or sources`, junk.length === 0, junk.join(', '));
  // Every file package.json points at (exports, main, types, bin) is in the tarball.
  const pkg = JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8'));
  const targets = new Set([pkg.main, pkg.types, ...Object.values(pkg.bin ?? {})].filter(Boolean));
  const walk = (v) => (typeof v === 'string' ? targets.add(v) : Object.values(v ?? {}).forEach(walk));
  walk(pkg.exports);
  const missing = [...targets].map((t) => t.replace(/^\.\//, '')).filter((t) => !files.includes(t));
  record(`@tidykv/${p}: every file its package.json names (exports import/require with types, main, bin) is in the tarball`, missing.length === 0, missing.length ? `missing: ${missing.join(', ')}` : '');
}

// --- the apps -------------------------------------------------------------------------------

function layOut(name) {
  const app = APPS[name];
  const dir = join(work, name);
  cpSync(join(here, name), dir, { recursive: true });
  if (updateLocks) rmSync(join(dir, 'package-lock.json'), { force: true });
  cpSync(join(here, 'app/src'), join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'test'), { recursive: true });
  for (const t of app.tests) cpSync(join(here, 'app/test', t), join(dir, 'test', t));
  if (app.cjs) {
    // A CommonJS Nest app writes relative imports without an extension (Jest's CommonJS resolver
    // does not map ./x.js to ./x.ts).
    const strip = (d) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const f = join(d, e.name);
        if (e.isDirectory()) strip(f);
        else if (f.endsWith('.ts')) writeFileSync(f, readFileSync(f, 'utf8').replace(/(from '\.{1,2}\/[^']*)\.js'/g, "$1'"));
      }
    };
    strip(join(dir, 'src'));
    strip(join(dir, 'test'));
  }
  const pkgFile = join(dir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  // All four, so that npm takes @tidykv/core (a dependency of the others) from its tarball rather
  // than the registry. The app's code imports only session, repository and audit.
  for (const p of PACKAGES) if (tarballOf[p]) pkg.dependencies[`@tidykv/${p}`] = `file:../tarballs/${basename(tarballOf[p])}`;
  writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  // The committed lockfile pins every third-party version and spares npm most of the resolving.
  // It holds no @tidykv entry: npm reads each freshly packed tarball's own package.json, so a
  // dependency a package gained since the lockfile was written is installed too.
  const lockFile = join(dir, 'package-lock.json');
  if (existsSync(lockFile)) writeFileSync(lockFile, `${JSON.stringify(withoutTidykv(JSON.parse(readFileSync(lockFile, 'utf8'))), null, 2)}\n`);
  return dir;
}

/** A lockfile without the @tidykv/* entries (their tarballs change with every build). */
function withoutTidykv(lock) {
  for (const key of Object.keys(lock.packages ?? {})) if (/(^|\/)node_modules\/@tidykv\//.test(key)) delete lock.packages[key];
  return lock;
}

async function install(name, dir) {
  const r = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, log: join(work, `${name}.install.log`), timeoutMs: 8 * 60_000 });
  record(`${name}: npm install of the tarballs (${r.seconds.toFixed(0)} s)`, r.code === 0, r.code === 0 ? '' : tail(r.out));
  if (r.code === 0 && updateLocks) {
    const lock = withoutTidykv(JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')));
    writeFileSync(join(here, name, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
    console.log(`consumer: updated tests/consumer/${name}/package-lock.json`);
  }
  return r.code === 0;
}

async function e2e(name, dir, env) {
  const app = APPS[name];
  const report = join(work, `${name}.e2e.json`);
  // The app's own `npm run test:e2e`, plus a machine-readable report.
  const report_ = app.runner === 'jest' ? ['--json', `--outputFile=${report}`] : ['--reporter=default', '--reporter=json', `--outputFile.json=${report}`];
  const r = await run('npm', ['run', 'test:e2e', '--', ...report_], { cwd: dir, env: { CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1', ...env }, log: join(work, `${name}.e2e.log`) });
  let results;
  try {
    results = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    record(`${name}: e2e test (${app.runner})`, false, `no report (exit ${r.code}):\n${tail(r.out)}`);
    return;
  }
  for (const file of results.testResults) {
    const rel = file.name.slice(dir.length + 1);
    if (file.assertionResults.length === 0) record(`${name}: ${rel} (${app.runner})`, false, tail(file.message || r.out, 25));
    for (const t of file.assertionResults) {
      record(`${name}: ${rel}: ${t.title}`, t.status === 'passed', t.status === 'passed' ? '' : tail((t.failureMessages ?? []).join('\n'), 25));
    }
  }
  if (r.code !== 0 && results.numFailedTests === 0 && results.numRuntimeErrorTestSuites === 0) record(`${name}: e2e runner exit code`, false, `exit ${r.code}:\n${tail(r.out)}`);
  if (r.code !== 0) {
    // What the app itself logged (e.g. the error behind a 500), which the assertions do not show.
    const logged = stripAnsi(r.out).split('\n').filter((l) => /\bERROR\b|Error: /.test(l) && !/^\s+at /.test(l));
    if (logged.length > 0) console.log(`      ${name} logged:\n        ${[...new Set(logged)].slice(0, 8).join('\n        ')}`);
  }
}

/** Starts dist/main.js against a private redis-server, logs in, reads /me, stops both. */
async function startBuilt(name, dir) {
  const { RedisProcess } = await import('@tidykv/testing');
  const redis = await RedisProcess.start();
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], { cwd: dir, env: { ...process.env, REDIS_URL: redis.url, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const up = await Promise.race([
      new Promise((resolve) => {
        const poll = setInterval(() => {
          if (out.includes('listening on')) resolve(true);
        }, 50);
        exited.then(() => clearInterval(poll));
        setTimeout(() => clearInterval(poll), 30_000);
      }),
      exited.then(() => false),
      new Promise((resolve) => setTimeout(() => resolve(false), 30_000)),
    ]);
    if (!up) throw new Error(`dist/main.js did not start:\n${tail(out)}`);
    const base = `http://127.0.0.1:${port}`;
    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'ada' }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    const me = await fetch(`${base}/me`, { headers: { cookie } });
    const body = await me.text();
    const ok = login.status === 201 && me.status === 200 && body === '{"userId":"ada"}';
    record(`${name}: node dist/main.js serves a login and /me`, ok, ok ? '' : `login ${login.status}, /me ${me.status} ${body}\n${tail(out)}`);
  } catch (err) {
    record(`${name}: node dist/main.js serves a login and /me`, false, String(err instanceof Error ? err.message : err));
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    if (code === 'timeout') child.kill('SIGKILL');
    await redis.close();
  }
}

const quickStartContext = { run, record, tail, stripAnsi, freePort, here, root, work };
// The audit CLI is the same tarball in every app: its README lines run once, in the first app that
// still has node_modules/@tidykv (not the bundled one).
let auditCliChecked = false;
const dirs = Object.fromEntries(apps.map((a) => [a, layOut(a)]));
// Installs are network and disk bound: run them side by side.
const installed = Object.fromEntries(await Promise.all(apps.map(async (a) => [a, await install(a, dirs[a])])));

for (const name of apps) {
  if (!installed[name]) continue;
  const dir = dirs[name];
  const tsc = await run('npx', ['--no-install', 'tsc', '--version'], { cwd: dir });
  console.log(`\n--- ${name} (${tsc.out.trim()})`);
  const build = await run('npm', ['run', 'build'], { cwd: dir, log: join(work, `${name}.build.log`) });
  record(`${name}: npm run build (${JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts.build}, ${tsc.out.trim()})`, build.code === 0 && existsSync(join(dir, 'dist/main.js')), build.code === 0 ? '' : tail(build.out));
  if (build.code !== 0) continue;
  // The READMEs' quick starts, as written, built and run in this app (quick-starts.mjs): after the
  // app's own checks, since their build replaces dist/; the bundle's before node_modules/@tidykv goes.
  const quickStart = () => checkQuickStarts(name, dir, { cjs: APPS[name].cjs, ctx: quickStartContext });
  if (APPS[name].bundle) {
    await quickStart();
    // The bundle must carry tidykv whole: nothing of it may be loaded or read from node_modules.
    renameSync(join(dir, 'node_modules/@tidykv'), join(work, `${name}.node_modules-tidykv`));
    const bundle = readFileSync(join(dir, 'dist/main.js'), 'utf8');
    record(`${name}: dist/main.js bundles @tidykv/* (no require of them left)`, !/require\("@tidykv\//.test(bundle));
    await e2e(name, dir, { E2E_START: 'dist/main.js' });
  } else {
    await e2e(name, dir, {});
  }
  await startBuilt(name, dir);
  if (!APPS[name].bundle) await quickStart();
  if (!auditCliChecked && !APPS[name].bundle) {
    auditCliChecked = true;
    await checkAuditCli(name, dir, quickStartContext);
  }
}

// --- results --------------------------------------------------------------------------------

const failed = checks.filter((c) => !c.ok);
const passed = checks.length - failed.length;
const seconds = ((Date.now() - suiteStarted) / 1000).toFixed(0);
console.log(`\nconsumer: ${passed} passed, ${failed.length} failed in ${seconds} s (${apps.join(', ')})`);
for (const c of failed) console.log(`  failed: ${c.name}`);
const results = join(root, '.test-results');
mkdirSync(results, { recursive: true });
writeFileSync(join(results, 'consumer.json'), JSON.stringify({ passed, failed: failed.length, skipped: 0 }));
if (process.env.TIDYKV_CONSUMER_KEEP === '1') console.log(`consumer: kept ${work}`);
else {
  const t = Date.now();
  rmSync(work, { recursive: true, force: true });
  console.log(`consumer: removed ${work} in ${((Date.now() - t) / 1000).toFixed(0)} s`);
}
process.exit(failed.length > 0 ? 1 : 0);
