import { existsSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { closeClient } from './internal/close-client.js';
import { RedisProcess } from './redis-process.js';
import { findRedisServerBinary, HOW_TO_GET_REDIS } from './redis-binary.js';

/** Where a test's Redis came from. */
export type RedisSource = 'container' | 'process';

/** A real Redis for one test suite. Always call {@link RedisTestServer.close} in `afterAll`. */
export interface RedisTestServer {
  readonly source: RedisSource;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** A new client; closed by {@link close}. */
  client(options?: RedisOptions): Redis;
  /** Makes the server unreachable until {@link start}: an outage. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL (kill -9) until {@link start}: a crash. Process source only. */
  kill(): Promise<void>;
  /** Brings a stopped or killed server back on the same address, with what its persistence kept (by default nothing). */
  start(): Promise<void>;
  /** Stop then start: memory and the script cache are lost. */
  restart(): Promise<void>;
  /** Closes every client and stops the server if the fixture started it. */
  close(): Promise<void>;
}

/** Options for {@link startRedis}. */
export interface StartRedisOptions {
  /** Extra redis-server arguments (process and container sources). Default: none. */
  args?: string[];
  /**
   * Always spawn a private `redis-server` process (never a container), for suites
   * that must stop, start or restart the server mid-test. Default: false.
   */
  own?: boolean;
  /** See {@link RedisProcessOptions.persistence}; for a spawned process. Default: `'none'`. */
  persistence?: 'none' | 'aof';
  /** See {@link RedisProcessOptions.allowDebug}; for a spawned process. Default: false. */
  allowDebug?: boolean;
}

/**
 * A real Redis for a test, always one this fixture starts (tests flush and fault their server, so
 * they never touch one they did not start, whatever REDIS_URL says), in this order:
 * 1. a testcontainers `redis:7` container, when a Docker engine is reachable;
 * 2. a `redis-server` child process on a free loopback port;
 * 3. otherwise an error saying how to get one.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisTestServer> {
  if (!options.own && (await dockerReachable())) return fromContainer(options.args ?? []);
  if (findRedisServerBinary()) return fromProcess(await RedisProcess.start({ args: options.args, persistence: options.persistence, allowDebug: options.allowDebug }));
  throw new Error(HOW_TO_GET_REDIS);
}

const unsupported = (): Promise<void> =>
  Promise.reject(new Error('Only a fixture-spawned process can be stopped or restarted: use startRedis({ own: true }).'));

function fromProcess(proc: RedisProcess): RedisTestServer {
  return {
    source: 'process',
    host: proc.host,
    port: proc.port,
    url: proc.url,
    client: (o) => proc.client(o),
    stop: () => proc.stop(),
    kill: () => proc.kill(),
    start: () => proc.start(),
    restart: () => proc.restart(),
    close: () => proc.close(),
  };
}

/**
 * Cheap probe first: with no DOCKER_HOST and no socket file there is no engine, and asking
 * testcontainers would only fail after loading its whole stack.
 */
async function dockerReachable(): Promise<boolean> {
  if (!process.env.DOCKER_HOST && !process.env.TESTCONTAINERS_HOST_OVERRIDE && !existsSync('/var/run/docker.sock')) {
    return false;
  }
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function fromContainer(args: string[]): Promise<RedisTestServer> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7.0')
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no', ...args])
    .start();
  const clients = new Set<Redis>();
  const host = container.getHost();
  const port = container.getMappedPort(6379);
  return {
    source: 'container',
    host,
    port,
    url: `redis://${host}:${port}`,
    client(options = {}) {
      const c = new Redis({ host, port, ...options });
      clients.add(c);
      return c;
    },
    // A restarted container may come back on another mapped port, so outages are process-only.
    stop: unsupported,
    kill: unsupported,
    start: unsupported,
    restart: unsupported,
    async close() {
      await Promise.all([...clients].map(closeClient));
      await container.stop();
    },
  };
}
