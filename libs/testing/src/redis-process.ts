import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { closeClient } from './internal/close-client.js';
import { freePort } from './internal/free-port.js';
import { track } from './internal/processes.js';
import { findRedisServerBinary, HOW_TO_GET_REDIS } from './redis-binary.js';

/** Options for {@link RedisProcess.start}. */
export interface RedisProcessOptions {
  /** Port to listen on. Default: a free port picked at start. */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '10mb']`. Default: none. */
  args?: string[];
  /** Path of the binary. Default: {@link findRedisServerBinary}. */
  binary?: string;
}

/**
 * One `redis-server` child process on loopback, with nothing persisted to disk.
 * It can be stopped and started again on the same port mid-test (to simulate an outage or a restart).
 */
export class RedisProcess {
  private child?: ChildProcess;
  private readonly clients = new Set<Redis>();

  private constructor(
    readonly host: string,
    readonly port: number,
    private readonly binary: string,
    private readonly args: string[],
    private readonly dir: string,
  ) {}

  /** Spawns a server and resolves once it answers PING. */
  static async start(options: RedisProcessOptions = {}): Promise<RedisProcess> {
    const binary = options.binary ?? findRedisServerBinary();
    if (!binary) throw new Error(HOW_TO_GET_REDIS);
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'tidykv-redis-'));
    const proc = new RedisProcess('127.0.0.1', port, binary, options.args ?? [], dir);
    await proc.start();
    return proc;
  }

  /** `redis://host:port`. */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** True while the child process is running. */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server again (after {@link stop}) on the same port. */
  async start(): Promise<void> {
    if (this.running) return;
    const args = [
      '--port', String(this.port),
      '--bind', this.host,
      '--save', '',
      '--appendonly', 'no',
      '--dir', this.dir,
      '--daemonize', 'no',
      '--loglevel', 'warning',
      ...this.args,
    ];
    const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    track(child);
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitForPing(this.host, this.port, child, () => stderr);
  }

  /** A new ioredis client to this server; closed automatically by {@link close}. */
  client(options: RedisOptions = {}): Redis {
    const c = new Redis({ host: this.host, port: this.port, lazyConnect: false, ...options });
    this.clients.add(c);
    return c;
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. Clients stay open and reconnect on {@link start}. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Kills the server with SIGKILL (`kill -9`: no shutdown, no goodbye to clients or to a
   * cluster's other nodes) and waits for it to exit. {@link start} brings it back, empty.
   */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops and starts the server: its memory, including the Lua script cache, is gone afterwards. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Closes every client made by {@link client}, stops the server and removes its directory. */
  async close(): Promise<void> {
    await Promise.all([...this.clients].map(closeClient));
    this.clients.clear();
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function waitForPing(host: string, port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server exited with code ${child.exitCode} on port ${port}: ${stderr().trim()}`);
    }
    const probe = new Redis({ host, port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      await closeClient(probe);
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${stderr().trim()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
