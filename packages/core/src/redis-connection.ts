import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import {
  DEFAULT_CONNECTION_OPTIONS,
  type ClusterConnectionOptions,
  type CommonConnectionOptions,
  type RedisConnectionOptions,
} from './connection.options.js';
import { DeadlineQueue } from './internal/deadline-queue.js';
import { RedisUnavailableError, TidyKvConfigError, TidyKvOutcomeUnknownError } from './tidykv.errors.js';

const KINDS = ['url', 'host', 'sentinels', 'cluster', 'client'] as const;

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
  const kind = given[0];
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
    if (o[f] !== undefined && (typeof o[f] !== 'number' || !Number.isFinite(o[f]) || o[f] <= 0)) {
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

/**
 * The ioredis options every connection tidykv opens gets. Each one is about knowing, for every
 * command, whether it reached Redis:
 * - no offline queue and no auto-pipelining: a command is written to the socket when tidykv
 *   issues it, or refused at once; it never waits in a queue to be sent after tidykv has given up
 *   on it (which is how a write answered "unavailable" used to be applied later);
 * - no automatic re-send of unanswered commands after a reconnect: tidykv retries what is safe to
 *   retry itself, within the operation's deadline, and reports the rest as outcome unknown;
 * - no ioredis command timeout: the deadline is tidykv's, one per operation (see RedisConnection.run).
 */
function ioredisCommon(o: CommonConnectionOptions): RedisOptions {
  const tls = o.tls === true ? {} : o.tls === false ? undefined : o.tls;
  const out: RedisOptions = {
    connectTimeout: o.connectTimeoutMs ?? DEFAULT_CONNECTION_OPTIONS.connectTimeoutMs,
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    // Reconnect quickly and keep trying every second at most: ioredis's default backoff grows to
    // several seconds, during which requests keep failing although Redis is back.
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000) + Math.floor(Math.random() * 50),
  };
  if (o.username !== undefined) out.username = o.username;
  if (o.password !== undefined) out.password = o.password;
  if (o.db !== undefined) out.db = o.db;
  if (tls !== undefined) out.tls = tls;
  return out;
}

/** Where tidykv reports connection state changes: Nest's `Logger` fits, so does `console`. */
export interface TidyKvLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** How {@link RedisConnection.run} treats an operation when the connection fails under it. */
export interface RunOptions {
  /**
   * The operation writes. A write that may have reached Redis but got no reply fails with
   * {@link TidyKvOutcomeUnknownError}, never with {@link RedisUnavailableError} (which promises
   * that nothing was applied). Default: false.
   */
  readonly write?: boolean;
  /**
   * Running the operation again cannot apply it twice (a create that recognises its own id, a
   * delta of absolute values, a delete). After a dropped connection it is retried on the next one,
   * within the same deadline. Reads are always retried. Default: false.
   */
  readonly idempotent?: boolean;
}

/** Options of {@link RedisConnection.create} beyond the connection itself. */
export interface RedisConnectionExtras {
  /** CLIENT SETNAME of the connections tidykv opens. Default: none. */
  readonly connectionName?: string;
  /** Where an outage is reported, once when it starts and once when it ends. Default: none. */
  readonly logger?: TidyKvLogger;
}

// Errors that prove a command was not executed: Redis refused it, or it never left the process.
// Not MaxRetriesPerRequestError: with no offline queue, what ioredis fails with it when a
// connection closes is its queue of commands already written to the socket, which Redis may have
// run (their replies lost with the connection). Counting those as "not sent" re-ran increments
// and answered "nothing applied" for writes that were applied.
const NOT_SENT = /Stream isn't writeable|enableOfflineQueue|isn't ready|None of startup nodes is available|Failed to refresh slots cache|Too many Cluster redirections|^CLUSTERDOWN|^TRYAGAIN|^LOADING|^MASTERDOWN|^READONLY|^MOVED|^ASK|^BUSY/;
// Errors that say the connection failed, whether or not the command got through.
const CONNECTION_ERRORS =
  /Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|Command timed out|MaxRetriesPerRequest|Stream isn't writeable|enableOfflineQueue|isn't ready|CLUSTERDOWN|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections|LOADING|TRYAGAIN|MASTERDOWN|READONLY|^MOVED|^ASK|Socket closed/;

/** True for errors that mean "Redis is not reachable right now" rather than "the command was wrong". */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof RedisUnavailableError || err instanceof TidyKvOutcomeUnknownError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  return CONNECTION_ERRORS.test(err.message) || (code !== undefined && CONNECTION_ERRORS.test(code)) || err.name === 'MaxRetriesPerRequestError';
}

/**
 * True for a failure that proves the command was not executed: Redis refused it (MOVED, ASK,
 * CLUSTERDOWN, TRYAGAIN, LOADING, READONLY...) or it never left the process. A write that failed
 * this way applied nothing, whatever {@link isConnectionError} says about the connection.
 */
export function provesNotSent(err: unknown): boolean {
  return err instanceof Error && err.name !== 'MaxRetriesPerRequestError' && NOT_SENT.test(err.message);
}

type Client = Redis | Cluster;

/**
 * A Redis connection as tidykv holds it: the ioredis client, whether tidykv opened it (and so
 * must close it), and the deadline every operation gets.
 */
export class RedisConnection {
  private closed = false;
  private readonly deadlines: DeadlineQueue;
  private outageSince: number | undefined;
  private outageErrors = 0;
  /** Operations waiting for the connection, woken together by one 'ready' listener. */
  private readonly readyWaiters = new Set<() => void>();
  /** Operations issued and not settled yet (see {@link drain}). */
  private inflight = 0;
  private drainWaiters: (() => void)[] = [];
  /** The socket corked until the next turn of the event loop, if any (see {@link batch}). */
  private corked: { uncork(): void } | undefined;

  private constructor(
    /** The ioredis client or Cluster. */
    readonly client: Client,
    /** True when tidykv opened the connection; false for an app-owned `client`, which is never closed. */
    readonly owned: boolean,
    /** How long one operation may take, in ms, from the moment tidykv issues it (see {@link run}). */
    readonly commandTimeoutMs: number,
    private readonly logger: TidyKvLogger | undefined,
  ) {
    this.deadlines = new DeadlineQueue(commandTimeoutMs);
    client.on('ready', () => {
      const waiters = [...this.readyWaiters];
      this.readyWaiters.clear();
      for (const w of waiters) w();
    });
    if (owned) this.watch();
  }

  /** Validates `options` and opens (or adopts) the connection. `path` names the option in errors. */
  static create(options: RedisConnectionOptions, path = 'connection', extras: RedisConnectionExtras | string = {}): RedisConnection {
    const { connectionName, logger } = typeof extras === 'string' ? { connectionName: extras, logger: undefined } : extras;
    const o = validateConnectionOptions(options, path);
    const timeout = o.commandTimeoutMs ?? DEFAULT_CONNECTION_OPTIONS.commandTimeoutMs;
    if ('client' in o) return new RedisConnection(o.client, false, timeout, logger);
    return new RedisConnection(createRedisClient(o, connectionName), true, timeout, logger);
  }

  /**
   * A second connection to the same standalone or Sentinel server, with tidykv's semantics (no
   * offline queue, no re-sends, its own deadline), owned by the caller, who must close it. For
   * connection state a feature keeps per connection (client tracking). Not for Cluster.
   */
  duplicate(connectionName: string): RedisConnection {
    if (this.isCluster) throw new TidyKvConfigError('connection', 'A Cluster connection cannot be duplicated: per-connection features are standalone or Sentinel only.');
    const copy = (this.client as Redis).duplicate({
      connectionName,
      enableOfflineQueue: false,
      enableAutoPipelining: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: undefined,
    });
    // Errors are still listened to, but an outage is reported once, by the original connection.
    return new RedisConnection(copy, true, this.commandTimeoutMs, undefined);
  }

  /** True for a Redis Cluster. */
  get isCluster(): boolean {
    return this.client.isCluster === true;
  }

  /**
   * True when the client itself re-sends commands that were unanswered when a connection dropped
   * (ioredis's default, so app-owned clients usually do). tidykv's own connections never do.
   * Operations that are not idempotent must then guard against running twice.
   */
  get resendsUnanswered(): boolean {
    const c = this.client as unknown as { options: { autoResendUnfulfilledCommands?: boolean; retryDelayOnFailover?: number; redisOptions?: { autoResendUnfulfilledCommands?: boolean } } };
    if (this.isCluster) {
      // A Cluster also re-sends a command whose node connection closed (retryDelayOnFailover).
      return (c.options.retryDelayOnFailover ?? 100) > 0 || c.options.redisOptions?.autoResendUnfulfilledCommands !== false;
    }
    return c.options.autoResendUnfulfilledCommands !== false;
  }

  /** True while the client can send commands. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /**
   * Runs one operation, which may send several commands, under one deadline: it settles within
   * `commandTimeoutMs` of this call, whatever is queued ahead of it and however many commands it
   * takes. Failures are typed, and say no more than is known:
   * - {@link RedisUnavailableError}: nothing was applied (the connection was down and nothing was
   *   sent, Redis refused the command, or the operation only reads);
   * - {@link TidyKvOutcomeUnknownError}: a write was sent and no reply came (for `write` operations);
   * - any other error (a script error, a wrong type) passes through unchanged.
   *
   * While the connection is down the operation waits for it, within its deadline, instead of
   * queuing inside ioredis. Reads and `idempotent` writes are retried after a dropped connection.
   */
  run<T>(operation: string, fn: (client: Client) => Promise<T>, options: RunOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let sent = false;
      let settled = false;
      let lastError: unknown;
      this.inflight++;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        entry.done = true;
        if (--this.inflight === 0 && this.drainWaiters.length > 0) {
          const waiters = this.drainWaiters;
          this.drainWaiters = [];
          for (const w of waiters) w();
        }
        return true;
      };
      const finish = (err: unknown): void => {
        if (settle()) reject(err);
      };
      const succeed = (value: T): void => {
        if (settle()) resolve(value);
      };
      const failure = (cause: unknown): Error =>
        options.write && sent ? new TidyKvOutcomeUnknownError(operation, cause) : new RedisUnavailableError(operation, cause);
      const entry = this.deadlines.add(() => {
        this.readyWaiters.delete(attempt);
        finish(failure(lastError ?? new Error(`no reply within ${this.commandTimeoutMs} ms`)));
      });
      const attempt = (): void => {
        if (settled) return;
        if (this.client.status === 'end' || this.closed) {
          finish(failure(new Error('the connection is closed')));
          return;
        }
        if (this.client.status !== 'ready') {
          // Wait for the connection rather than let ioredis queue the command: a queued command
          // could be sent after the deadline has answered for it.
          if (this.client.status === 'wait') void this.client.connect().catch(() => undefined);
          this.readyWaiters.add(attempt);
          return;
        }
        let promise: Promise<T>;
        try {
          this.batch();
          promise = fn(this.client);
        } catch (err) {
          finish(err);
          return;
        }
        const wasSent = sent;
        sent = true;
        promise.then(
          (value) => succeed(value),
          (err: unknown) => {
            if (settled) return;
            if (!isConnectionError(err)) {
              finish(err);
              return;
            }
            lastError = err;
            const notSent = provesNotSent(err);
            if (notSent) sent = wasSent;
            if (options.write && !options.idempotent && !notSent) {
              finish(new TidyKvOutcomeUnknownError(operation, err));
              return;
            }
            // Retry on the next connection (or once Redis stops refusing), within the deadline. The
            // pause keeps a Cluster that still routes to a dead node from spinning.
            setTimeout(attempt, 25).unref();
          },
        );
      };
      attempt();
    });
  }

  /** Resolves once every operation issued so far has settled (shutdown: let saves finish). */
  drain(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Coalesces the commands issued during one turn of the event loop into one socket write, as
   * ioredis auto-pipelining does, but without its queue: a command is handed to the socket the
   * moment it is issued (so it counts as sent, and nothing waits behind a pipeline in flight to be
   * sent after its deadline); only the syscall is deferred to the end of the turn. Fewer writes
   * means less CPU in the app and in Redis. Only for standalone/Sentinel connections tidykv owns.
   */
  private batch(): void {
    if (this.corked || !this.owned || this.isCluster) return;
    const stream = (this.client as unknown as { stream?: { cork(): void; uncork(): void; writable?: boolean } }).stream;
    if (!stream || typeof stream.cork !== 'function' || stream.writable === false) return;
    stream.cork();
    this.corked = stream;
    setImmediate(() => {
      this.corked = undefined;
      stream.uncork();
    });
  }

  /**
   * Listens for errors (so ioredis never prints "Unhandled error event") and reports an outage
   * once when it starts and once when it ends, not once per command.
   */
  private watch(): void {
    const lost = (err?: unknown): void => {
      if (this.closed) return;
      this.outageErrors++;
      if (this.outageSince !== undefined) return;
      this.outageSince = Date.now();
      const why = err instanceof Error ? `: ${err.message}` : '';
      this.logger?.warn(`Redis connection lost${why}. Requests that need Redis fail fast until it is back.`);
    };
    this.client.on('error', (err: unknown) => lost(err));
    this.client.on('close', () => lost());
    this.client.on('ready', () => {
      if (this.outageSince === undefined) return;
      const seconds = ((Date.now() - this.outageSince) / 1000).toFixed(1);
      this.logger?.log(`Redis connection restored after ${seconds} s (${this.outageErrors} connection events).`);
      this.outageSince = undefined;
      this.outageErrors = 0;
    });
  }

  /** Closes the connection if tidykv opened it (QUIT, so queued replies arrive first); a no-op for app-owned clients. */
  async close(): Promise<void> {
    if (!this.owned || this.closed) return;
    this.closed = true;
    this.deadlines.close();
    const client = this.client;
    if (client.status === 'end') return;
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    try {
      if (client.status === 'ready') await client.quit();
      else client.disconnect();
    } catch {
      client.disconnect();
    }
    // QUIT resolves on the server's OK; the socket closes a moment later. Wait for it (bounded), so
    // that "closed on shutdown" means no open handle is left behind.
    await Promise.race([ended, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}

/**
 * An ioredis client (or Cluster) configured the way tidykv configures the connections it opens
 * (no offline queue, no auto-pipelining, no re-sends; see {@link ioredisCommon}), for an app that
 * wants one connection for all its tidykv modules: pass it as `connection: { client }` to
 * `SessionModule` and `RepositoryModule`. The app owns it and closes it (`client.quit()`) after
 * `app.close()`. Listen to its `error` event, as with any ioredis client.
 */
export function createRedisClient(options: Exclude<RedisConnectionOptions, { client: unknown }>, connectionName?: string): Redis | Cluster {
  const o = validateConnectionOptions(options, 'connection');
  if ('client' in o) throw TidyKvConfigError.invalid('connection.client', 'a client', 'url, host, sentinels or cluster options', 'createRedisClient builds the client; pass the options that describe the server.');
  const name = connectionName ? { connectionName } : {};
  if ('cluster' in o) return createCluster(o, name);
  const common = { ...ioredisCommon(o), ...name, ...o.redisOptions };
  if ('url' in o) return new Redis(o.url, common);
  if ('host' in o) return new Redis({ host: o.host, port: o.port ?? 6379, ...common });
  return new Redis({ sentinels: o.sentinels, name: o.name, sentinelPassword: o.sentinelPassword, ...common });
}

function createCluster(o: ClusterConnectionOptions, name: { connectionName?: string }): Cluster {
  const nodes = o.cluster.nodes.map((n) => {
    if (typeof n !== 'string') return n;
    const i = n.lastIndexOf(':');
    return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
  });
  // Node connections keep ioredis's offline queue (the Cluster forces it while a node connects);
  // the Cluster's own queue is off, and it must not re-send a command whose node connection closed.
  const { enableOfflineQueue: _nodesQueue, ...nodeOptions } = ioredisCommon(o);
  const redisOptions = { ...nodeOptions, ...name, ...o.redisOptions };
  const opts: ClusterOptions = { enableOfflineQueue: false, enableAutoPipelining: false, retryDelayOnFailover: 0, redisOptions, ...o.cluster.options };
  if (o.cluster.options?.redisOptions) opts.redisOptions = { ...redisOptions, ...o.cluster.options.redisOptions };
  return new Cluster(nodes, opts);
}
