import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dbSize } from '@tidykv/testing';
import { startDemo, type DemoHarness } from './support/demo-harness.js';

const README = join(dirname(fileURLToPath(import.meta.url)), '../../../README.md');
const MARKER = '<!-- demo-walkthrough:';

/** Runs `script` with bash, asynchronously: the demo answering it lives in this very process. */
function bash(script: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The ```sh block that follows the walk-through marker in the root README. */
function walkthrough(): string {
  const text = readFileSync(README, 'utf8');
  const at = text.indexOf(MARKER);
  if (at < 0) throw new Error(`README.md has no "${MARKER}" marker before the demo's curl walk-through.`);
  const m = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m) throw new Error('No ```sh block follows the walk-through marker in README.md.');
  return m[1];
}

// The README's curl walk-through, run by bash exactly as written, except for the port.
describe('the README curl walk-through', () => {
  let h: DemoHarness;
  let dir: string;
  let output: string;

  beforeAll(async () => {
    if (spawnSync('sh', ['-c', 'command -v curl']).status !== 0) throw new Error('The README walk-through needs curl: `apt-get install -y curl`.');
    h = await startDemo('express');
    dir = mkdtempSync(join(tmpdir(), 'tidykv-walkthrough-'));
    const script = walkthrough().replaceAll('localhost:3000', h.base.replace('http://', ''));
    const run = await bash(script, dir);
    if (run.code !== 0) throw new Error(`The walk-through failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
    output = run.stdout;
  }, 90_000);
  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await h?.close();
  });

  it('shows each answer its comments promise, in order', () => {
    const expected = [
      /HTTP\/1\.1 201 Created/,
      /set-cookie: sid=/i,
      /\{"userId":"ada","refreshToken":"[A-Za-z0-9_-]{43}"\}/,
      /\{"userId":"ada"\}/,
      /\{"visits":1\}/,
      /\[\{"createdAt":"[^"]+","lastAccessedAt":"[^"]+","expiresAt":"[^"]+","current":true\}\]/,
      /HTTP\/1\.1 401 Unauthorized[\s\S]*?already used/,
      /HTTP\/1\.1 401 Unauthorized/,
      /\{"token":"[A-Za-z0-9_-]{43}"\}/,
      /\[\{"familyId":"[^"]+","issuedAt":"[^"]+","expiresAt":"[^"]+"\}(,\{[^\]]+\})*\]/,
      /HTTP\/1\.1 403 Forbidden/,
      /HTTP\/1\.1 401 Unauthorized/,
      /\{"status":"ok","info":\{"redis":\{"connections":/,
    ];
    let rest = output;
    for (const re of expected) {
      const m = re.exec(rest);
      expect({ expected: String(re), found: m !== null, rest: m ? 'ok' : rest.slice(0, 400) }).toMatchObject({ found: true });
      if (m) rest = rest.slice(m.index + m[0].length);
    }
  });

  it('answers no request with a server error', () => {
    expect(output).not.toMatch(/HTTP\/1\.1 5\d\d/);
  });

  it('leaves nothing in Redis once ada has logged out everywhere', async () => {
    expect(await dbSize(h.probe)).toBe(0);
  });
});
