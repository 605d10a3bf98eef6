import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { RedisProcess, eventually, startRedis, type RedisTestServer } from '@tidykv/testing';
import { send, type Cmd } from './seed.helper.js';
import type { OrphanReport } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'packages/audit/dist/cli.js');
const KEYS = 1500;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

// The CLI runs as a real process (exit codes, SIGINT, TTY detection), so it needs the built
// dist: `npm test` builds first, and this suite builds too so a local run never uses stale code.
beforeAll(() => {
  const build = spawnSync('npx', ['tsc', '-b', 'packages/audit'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`tsc -b packages/audit failed:\n${build.stdout}${build.stderr}`);
}, 120_000);

describe('tidykv-audit CLI', () => {
  let server: RedisTestServer;
  let client: Redis;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    server = await startRedis({ own: true });
    client = server.client();
    const cmds: Cmd[] = [];
    for (let i = 0; i < KEYS; i++) cmds.push(['SET', `user:${i}:name`, 'n']);
    cmds.push(['HSET', 'spring:session:sessions:9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e', 'lastAccessedTime', '1']);
    await send(client, cmds);
    url = server.url;
    dir = mkdtempSync(join(tmpdir(), 'tidykv-audit-cli-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0 when nothing is found and 1 on findings', async () => {
    const clean = await run(['scan', '--url', url, '--match', 'nothing:*']);
    expect(clean.stderr).toBe('');
    expect(clean.stdout).toContain('Scanned 0 keys');
    expect(clean.code).toBe(0);
    const found = await run(['scan', '--url', url, '--json']);
    expect(found.code).toBe(1);
    expect(JSON.parse(found.stdout)).toMatchObject({ keys: KEYS + 1, keysWithoutTtl: KEYS + 1 });
    const orphans = await run(['orphans', '--url', url, '--csv']);
    expect(orphans.code).toBe(1);
    expect(orphans.stdout).toContain('spring-session-partial,,spring:session:sessions:9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e,hash');
    const none = await run(['orphans', '--url', url, '--match', 'user:*']);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('No orphans found.');
  });

  it('exits 2 on bad flags and on an unreachable server, with a clear message', async () => {
    const bad = await run(['scan', '--url', url, '--rate', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--rate expects a number');
    const none = await run(['scan']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('exactly one of --url, --host, --cluster or --sentinels');
    const fixNothing = await run(['fix', '--url', url]);
    expect(fixNothing.code).toBe(2);
    expect(fixNothing.stderr).toContain('--expire <duration> and/or --prune-orphans');
    const port = await closedPort();
    const down = await run(['scan', '--host', '127.0.0.1', '--port', String(port), '--connect-timeout', '300', '--command-timeout', '800']);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain('TIDYKV_UNAVAILABLE');
  });

  it('takes the password from the environment, not only from the command line', async () => {
    await client.config('SET', 'requirepass', 's3cret');
    try {
      const denied = await run(['scan', '--url', url, '--match', 'nothing:*']);
      expect(denied.code).toBe(2);
      const ok = await run(['scan', '--url', url, '--match', 'nothing:*'], { TIDYKV_AUDIT_PASSWORD: 's3cret' });
      expect(ok.code).toBe(0);
      const viaRedisCli = await run(['scan', '--url', url, '--match', 'nothing:*'], { REDISCLI_AUTH: 's3cret' });
      expect(viaRedisCli.code).toBe(0);
    } finally {
      const admin = server.client({ password: 's3cret' });
      await admin.config('SET', 'requirepass', '');
    }
  });

  it('draws a progress bar on a TTY and none otherwise', async () => {
    const piped = await run(['scan', '--url', url, '--rate', '3000', '--count', '100']);
    expect(piped.code).toBe(1);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).not.toContain('\u001b[');
    const scriptBin = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).stdout.trim();
    if (!scriptBin) throw new Error('This test needs `script` (util-linux) to give the CLI a pseudo-terminal: apt-get install -y bsdutils');
    const cmd = `${process.execPath} ${CLI} scan --url ${url} --rate 3000 --count 100 > /dev/null`;
    const tty = spawnSync(scriptBin, ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
    expect(tty.status).toBe(1);
    expect(tty.stdout).toContain('scan [');
    expect(tty.stdout).toContain(`/${KEYS + 1} keys`);
  });

  it('stops cleanly on Ctrl-C after the current batch, and resumes from the checkpoint', async () => {
    const checkpoint = join(dir, 'scan.checkpoint.json');
    const args = ['scan', '--url', url, '--count', '50', '--checkpoint', checkpoint, '--json', '--sample-rate', '1'];
    const child = spawn(process.execPath, [CLI, ...args, '--rate', '300'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await eventually(() => existsSync(checkpoint), 10_000, 'the first checkpoint');
    const sent = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    expect(Date.now() - sent).toBeLessThan(2000);
    expect(code).toBe(1);
    expect(stderr).toContain('stopped after the current batch');
    const partial = JSON.parse(stdout) as { keys: number; interrupted: boolean };
    expect(partial.interrupted).toBe(true);
    expect(partial.keys).toBeLessThan(KEYS + 1);
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { nodes: Record<string, { cursor: string; done: boolean }> };
    expect(Object.values(saved.nodes)[0].done).toBe(false);

    const resumed = await run(args);
    expect(resumed.code).toBe(1);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ keys: KEYS + 1, keysWithoutTtl: KEYS + 1, interrupted: false });
    expect(existsSync(checkpoint)).toBe(false);
  });

  it('fix is a dry run by default and writes its change log', async () => {
    const log = join(dir, 'fix.jsonl');
    const r = await run(['fix', '--url', url, '--prune-orphans', '--log', log]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('DRY RUN');
    expect(await client.exists('spring:session:sessions:9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e')).toBe(1);
    expect(readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      expect.objectContaining({ action: 'unlink', key: 'spring:session:sessions:9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e', applied: false }),
    ]);
  });

  it('writes a self-contained HTML report whose chart renders in headless Chromium', async () => {
    const report = join(dir, 'report.html');
    const r = await run(['scan', '--url', url, '--html', '--output', report, '--sample-rate', '1']);
    expect(r.code).toBe(1);
    const html = readFileSync(report, 'utf8');
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    const chromium = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    if (!chromium) throw new Error('Headless Chromium is needed to check the HTML report: run `apt-get install -y chromium` (Debian).');
    const profile = mkdtempSync(join(tmpdir(), 'tidykv-audit-chromium-'));
    try {
      const dom = spawnSync(
        chromium,
        ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--dump-dom', `file://${report}`],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(dom.status).toBe(0);
      const out = dom.stdout;
      // The inline script ran in the browser and measured every bar it laid out.
      expect(out).toMatch(/<svg id="memory-chart"[^>]*data-rendered="true"/);
      const widths = [...out.matchAll(/<rect class="bar[^"]*"[^>]*data-rendered-width="(\d+)"/g)].map((m) => Number(m[1]));
      expect(widths).toHaveLength(2);
      expect(widths.every((w) => w > 0)).toBe(true);
      // Every label starts inside the chart: none is clipped on the left.
      const xs = [...out.matchAll(/<text class="label"[^>]*data-rendered-x="(-?\d+)"/g)].map((m) => Number(m[1]));
      expect(xs).toHaveLength(2);
      expect(xs.every((x) => x >= 0)).toBe(true);
      expect(out).toContain('user:&lt;num&gt;:name');
      expect(out).toContain('spring:session:sessions:&lt;uuid&gt;');
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  }, 90_000);
});

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

describe('tidykv-audit over TLS with a read-only ACL user', () => {
  let proc: RedisProcess;
  let tlsPort: number;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidykv-audit-tls-'));
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=tidykv-test-ca'], dir);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=localhost'], dir);
    writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost');
    openssl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '2', '-extfile', 'ext'], dir);
    tlsPort = await closedPort();
    // The plain port stays open for the fixture's readiness probe and the seeding; the CLI uses TLS only.
    proc = await RedisProcess.start({
      args: ['--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'srv.crt'), '--tls-key-file', join(dir, 'srv.key'), '--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'no'],
    });
    const admin = proc.client();
    // A user that can read but not write: if the auditor sent any write, Redis would refuse it.
    await admin.call('ACL', 'SETUSER', 'auditor', 'on', '>audit-pw', '~*', '-@all', '+@read', '+@connection', '+info', '+evalsha_ro', '+eval_ro', '+client|setname');
    await send(admin, [
      ['SET', 'user:1:name', 'a'],
      ['SET', 'user:2:name', 'b', 'EX', 100],
      ['HSET', 'spring:session:sessions:9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e', 'lastAccessedTime', '1'],
    ]);
  });
  afterAll(async () => {
    await proc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scan and orphans succeed with read permissions only; fix is refused by Redis and exits 2', async () => {
    const flags = ['--url', `rediss://127.0.0.1:${tlsPort}`, '--user', 'auditor', '--tls-ca', join(dir, 'ca.crt')];
    const env = { TIDYKV_AUDIT_PASSWORD: 'audit-pw' };
    const scan = await run(['scan', ...flags, '--json', '--sample-rate', '1'], env);
    expect(scan.stderr).toBe('');
    expect(scan.code).toBe(1);
    expect(JSON.parse(scan.stdout)).toMatchObject({ keys: 3, keysWithoutTtl: 2 });
    const orphans = await run(['orphans', ...flags, '--json'], env);
    expect(orphans.stderr).toBe('');
    expect(orphans.code).toBe(1);
    expect((JSON.parse(orphans.stdout) as OrphanReport).totals['spring-session-partial']).toMatchObject({ keys: 1 });
    const fix = await run(['fix', ...flags, '--prune-orphans', '--apply', '--log', join(dir, 'fix.jsonl')], env);
    expect(fix.code).toBe(2);
    expect(fix.stderr).toMatch(/NOPERM|no permissions/i);
    const wrongCa = await run(['scan', '--url', `rediss://127.0.0.1:${tlsPort}`, '--user', 'auditor', '--connect-timeout', '1000', '--command-timeout', '1500'], env);
    expect(wrongCa.code).toBe(2);
  });
});
