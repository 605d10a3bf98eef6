import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import {
  DEFAULT_CONNECTION_OPTIONS,
  type ClusterConnectionOptions,
  type CommonConnectionOptions,
  type RedisConnectionOptions,
} from './connection.options.js';
import { RedisUnavailableError, TidyKvConfigError } from './tidykv.errors.js';

const KINDS = ['url', 'host', 'sentinels', 'cluster', 'client'] as const;
type Kind = (typeof KINDS)[number];

/**
 * Checks connection options before anything connects. Throws {@link TidyKvConfigError} naming the
 * option (under `path`, e.g. `SessionModule.connection`), the value received and the fix.
 */
export function validateConnectionOptions(options: unknown, path = 'connection'): RedisConnectionOptions {
  if (options === null || typeof options !== 'object') {
    throw TidyKvConfigError.invalid(path, options, 'an object', 'Pass e.g. { url: "redis://localhost:6379" }.');
  }
  const o = options as Record<string, unknown>;
  const given = KINDS.filter((k) => o[k] !== undefined);
  if (given.length !== 1) {
    throw TidyKvConfigError.invalid(
      path,
      given.length === 0 ? options : `both ${given.join(' and ')}`,
      'exactly one of url, host, sentinels, cluster or client',
      'Pass e.g. { url: "redis://localhost:6379" }, { cluster: { nodes: [...] } } or { client: existingIoredisClient }.',
    );
  }
  const kind = given[0] as Kind;
  switch (kind) {
    case 'url': {
      let url: URL | undefined;
      try {
        url = new URL(String(o.url));
      } catch {
        url = undefined;
      }
      if (typeof o.url !== 'string' || !url || !['redis:', 'rediss:'].includes(url.protocol)) {
        throw TidyKvConfigError.invalid(`${path}.url`, o.url, 'a redis:// or rediss:// URL', 'For example redis://user:password@localhost:6379/0.');
      }
      break;
    }
    case 'host':
      if (typeof o.host !== 'string' || o.host === '') {
        throw TidyKvConfigError.invalid(`${path}.host`, o.host, 'a non-empty host name or IP address');
      }
      checkPort(o.port, `${path}.port`, true);
      break;
    case 'sentinels':
      if (!Array.isArray(o.sentinels) || o.sentinels.length === 0) {
        throw TidyKvConfigError.invalid(`${path}.sentinels`, o.sentinels, 'a non-empty array of { host, port }');
      }
      o.sentinels.forEach((s: unknown, i: number) => checkAddress(s, `${path}.sentinels[${i}]`));
      if (typeof o.name !== 'string' || o.name === '') {
        throw TidyKvConfigError.invalid(`${path}.name`, o.name, 'the Sentinel master group name', 'It is the name in `sentinel monitor <name> ...`, often "mymaster".');
      }
      break;
    case 'cluster': {
      const c = o.cluster as Record<string, unknown> | null;
      if (!c || typeof c !== 'object' || !Array.isArray(c.nodes) || c.nodes.length === 0) {
        throw TidyKvConfigError.invalid(`${path}.cluster.nodes`, c && typeof c === 'object' ? c.nodes : c, 'a non-empty array of seed nodes ("host:port" or { host, port })');
      }
      c.nodes.forEach((n: unknown, i: number) => {
        if (typeof n === 'string') {
          if (!/^[^\s:]+:\d{1,5}$/.test(n)) throw TidyKvConfigError.invalid(`${path}.cluster.nodes[${i}]`, n, '"host:port"');
        } else checkAddress(n, `${path}.cluster.nodes[${i}]`);
      });
      if (o.db !== undefined && o.db !== 0) {
        throw TidyKvConfigError.invalid(`${path}.db`, o.db, 'nothing (Redis Cluster has only database 0)', 'Remove `db`; use a key prefix to separate apps.');
      }
      break;
    }
    case 'client': {
      const c = o.client as { status?: unknown; sendCommand?: unknown } | null;
      if (!c || typeof c !== 'object' || typeof c.sendCommand !== 'function') {
        throw TidyKvConfigError.invalid(`${path}.client`, o.client, 'an ioredis Redis or Cluster instance', 'tidykv speaks ioredis; node-redis clients are not supported.');
      }
      break;
    }
  }
  if (o.db !== undefined && (!Number.isInteger(o.db) || (o.db as number) < 0)) {
    throw TidyKvConfigError.invalid(`${path}.db`, o.db, 'a non-negative integer');
  }
  for (const f of ['connectTimeoutMs', 'commandTimeoutMs'] as const) {
    if (o[f] !== undefined && (typeof o[f] !== 'number' || !Number.isFinite(o[f]) || (o[f] as number) <= 0)) {
      throw TidyKvConfigError.invalid(`${path}.${f}`, o[f], 'a positive number of milliseconds');
    }
  }
  if (o.tls !== undefined && typeof o.tls !== 'boolean' && (o.tls === null || typeof o.tls !== 'object')) {
    throw TidyKvConfigError.invalid(`${path}.tls`, o.tls, 'true, false or Node TLS options');
  }
  for (const f of ['username', 'password', 'sentinelPassword'] as const) {
    if (o[f] !== undefined && typeof o[f] !== 'string') throw TidyKvConfigError.invalid(`${path}.${f}`, o[f], 'a string');
  }
  return options as RedisConnectionOptions;
}

function checkPort(port: unknown, path: string, optional: boolean): void {
  if (port === undefined && optional) return;
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
    throw TidyKvConfigError.invalid(path, port, 'an integer port from 1 to 65535');
  }
}

function checkAddress(a: unknown, path: string): void {
  const x = a as { host?: unknown; port?: unknown } | null;
  if (!x || typeof x !== 'object' || typeof x.host !== 'string' || x.host === '') {
    throw TidyKvConfigError.invalid(`${path}.host`, x && typeof x === 'object' ? x.host : a, 'a non-empty host');
  }
  checkPort(x.port, `${path}.port`, false);
}

function ioredisCommon(o: CommonConnectionOptions): RedisOptions {
  const tls = o.tls === true ? {} : o.tls === false ? undefined : o.tls;
  const out: RedisOptions = {
    connectTimeout: o.connectTimeoutMs ?? DEFAULT_CONNECTION_OPTIONS.connectTimeoutMs,
    commandTimeout: o.commandTimeoutMs ?? DEFAULT_CONNECTION_OPTIONS.commandTimeoutMs,
    // One retry across a reconnect, then fail: requests must not queue up behind an outage.
    maxRetriesPerRequest: 1,
  };
  if (o.username !== undefined) out.username = o.username;
  if (o.password !== undefined) out.password = o.password;
  if (o.db !== undefined) out.db = o.db;
  if (tls !== undefined) out.tls = tls;
  return out;
}

/**
 * A Redis connection as tidykv holds it: the ioredis client, whether tidykv opened it (and so
 * must close it), and the command timeout to enforce on calls.
 */
export class RedisConnection {
  private closed = false;

  private constructor(
    /** The ioredis client or Cluster. */
    readonly client: Redis | Cluster,
    /** True when tidykv opened the connection; false for an app-owned `client`, which is never closed. */
    readonly owned: boolean,
    /** Per-call timeout in ms enforced by {@link RedisConnection.run}. */
    readonly commandTimeoutMs: number,
  ) {}

  /** Validates `options` and opens (or adopts) the connection. `path` names the option in errors. */
  static create(options: RedisConnectionOptions, path = 'connection', connectionName?: string): RedisConnection {
    const o = validateConnectionOptions(options, path);
    const timeout = o.commandTimeoutMs ?? DEFAULT_CONNECTION_OPTIONS.commandTimeoutMs;
    if ('client' in o) return new RedisConnection(o.client, false, timeout);
    const name = connectionName ? { connectionName } : {};
    if ('cluster' in o) return new RedisConnection(createCluster(o, name), true, timeout);
    const common = { ...ioredisCommon(o), ...name, ...o.redisOptions };
    if ('url' in o) return new RedisConnection(new Redis(o.url, common), true, timeout);
    if ('host' in o) return new RedisConnection(new Redis({ host: o.host, port: o.port ?? 6379, ...common }), true, timeout);
    return new RedisConnection(
      new Redis({ sentinels: o.sentinels, name: o.name, sentinelPassword: o.sentinelPassword, ...common }),
      true,
      timeout,
    );
  }

  /** True for a Redis Cluster. */
  get isCluster(): boolean {
    return this.client.isCluster === true;
  }

  /**
   * Runs `fn` against the client, failing with {@link RedisUnavailableError} when it throws a
   * connection error or does not settle within the command timeout. Script and type errors pass
   * through unchanged.
   */
  async run<T>(operation: string, fn: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailableError(operation, new Error(`no reply within ${this.commandTimeoutMs} ms`))), this.commandTimeoutMs);
    });
    try {
      return await Promise.race([fn(this.client), timeout]);
    } catch (err) {
      throw isConnectionError(err) ? new RedisUnavailableError(operation, err) : err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the connection if tidykv opened it (QUIT, so queued replies arrive first); a no-op for app-owned clients. */
  async close(): Promise<void> {
    if (!this.owned || this.closed) return;
    this.closed = true;
    const client = this.client;
    if (client.status === 'end') return;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    try {
      await client.quit();
    } catch {
      client.disconnect();
    }
    // QUIT resolves on the server's OK; the socket closes a moment later. Wait for it (bounded), so
    // that "closed on shutdown" means no open handle is left behind.
    await Promise.race([ended, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}

function createCluster(o: ClusterConnectionOptions, name: { connectionName?: string }): Cluster {
  const nodes = o.cluster.nodes.map((n) => {
    if (typeof n !== 'string') return n;
    const i = n.lastIndexOf(':');
    return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
  });
  const redisOptions = { ...ioredisCommon(o), ...name, ...o.redisOptions };
  const opts: ClusterOptions = { redisOptions, ...o.cluster.options };
  if (o.cluster.options?.redisOptions) opts.redisOptions = { ...redisOptions, ...o.cluster.options.redisOptions };
  return new Cluster(nodes, opts);
}

const CONNECTION_ERRORS = /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|Command timed out|MaxRetriesPerRequest|Stream isn't writeable|enableOfflineQueue|CLUSTERDOWN|Failed to refresh slots cache|None of startup nodes is available|LOADING|TRYAGAIN/;

/** True for errors that mean "Redis is not reachable right now" rather than "the command was wrong". */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof RedisUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  return CONNECTION_ERRORS.test(err.message) || (code !== undefined && CONNECTION_ERRORS.test(code)) || err.name === 'MaxRetriesPerRequestError';
}

