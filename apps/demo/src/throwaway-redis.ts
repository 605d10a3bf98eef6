import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** True when something on `port` answers an inline PING with +PONG (a raw socket: no client timers left behind). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** SIGTERM (SIGKILL after 5 s), then waits for `closed`: the exit and its stdio pipes closing, so no handle is left. */
async function stopChild(child: ChildProcess, closed: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.kill('SIGTERM');
    await closed;
    clearTimeout(timer);
  }
  await closed;
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
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
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
          await stopChild(child, closed);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    process.removeListener('exit', killOnExit);
    await stopChild(child, closed);
    rmSync(dir, { recursive: true, force: true });
    if (attempt >= 3) throw new Error(`The throwaway redis-server (${binary}) did not start on port ${port}: ${stderr.trim() || 'no PONG within 10 s'}`);
  }
}
