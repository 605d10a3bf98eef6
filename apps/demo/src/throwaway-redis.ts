import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server the demo started for itself. */
export interface ThrowawayRedis {
  readonly url: string;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/opt/homebrew/bin/redis-server'];

/** `REDIS_SERVER_BIN`, then `redis-server` on PATH, then the usual install locations. */
function findRedisServer(): string | undefined {
  const fromEnv = process.env.REDIS_SERVER_BIN;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  return CANDIDATES.find((p) => existsSync(p));
}

/** A port free right now on loopback: `redis-server --port 0` would disable TCP, not pick one. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function answersPing(port: number): Promise<boolean> {
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts a private redis-server for the demo when REDIS_URL is unset, so that `npm run demo`
 * works on a fresh machine: loopback only, on a free port, nothing persisted (`--save ''
 * --appendonly no`), stopped with the app, and killed with the process should it die first.
 */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const binary = findRedisServer();
  if (!binary) {
    throw new Error(
      'REDIS_URL is not set and no redis-server was found to start a throwaway one. Set REDIS_URL, or install Redis ' +
        '(`sudo apt-get install -y redis-server` on Debian/Ubuntu, `brew install redis` on macOS), or point REDIS_SERVER_BIN at the binary.',
    );
  }
  // Another process may take the free port between our probe and redis-server's bind: try again.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'tidykv-demo-redis-'));
    const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const killOnExit = (): void => void child.kill('SIGKILL');
    process.once('exit', killOnExit);
    const deadline = Date.now() + 10_000;
    let ready = false;
    while (!ready && child.exitCode === null && Date.now() < deadline) {
      ready = await answersPing(port);
      if (!ready) await new Promise((r) => setTimeout(r, 20));
    }
    // Alive after the PONG: the answer came from our child, not from whoever took the port.
    if (ready && child.exitCode === null) {
      return {
        url: `redis://127.0.0.1:${port}`,
        async stop() {
          process.removeListener('exit', killOnExit);
          await stopChild(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    process.removeListener('exit', killOnExit);
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    if (attempt >= 3) throw new Error(`The throwaway redis-server (${binary}) did not start on port ${port}: ${stderr.trim() || 'no PONG within 10 s'}`);
  }
}
