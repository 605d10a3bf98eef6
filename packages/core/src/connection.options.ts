import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';

/** Settings shared by every connection tidykv opens itself. */
export interface CommonConnectionOptions {
  /** ACL user name. Default: none (the `default` user). */
  username?: string;
  /** Password (AUTH). Default: none. */
  password?: string;
  /** `true` for TLS with Node's defaults, or Node TLS options (ca, cert, servername...). Default: off, or on for `rediss://` URLs. */
  tls?: boolean | TlsOptions;
  /** Database index (standalone and Sentinel only; Cluster has only db 0). Default: 0. */
  db?: number;
  /** Milliseconds to wait for a TCP/TLS connection before failing it. Default: 5000. */
  connectTimeoutMs?: number;
  /**
   * Milliseconds after which a command with no reply fails with `RedisUnavailableError`, so that
   * requests fail fast during an outage instead of hanging. Default: 2000.
   */
  commandTimeoutMs?: number;
  /** Extra ioredis options, applied last (they win over the fields above). Default: none. */
  redisOptions?: RedisOptions;
}

/** A standalone server addressed by URL: `redis://[user:pass@]host:port[/db]` or `rediss://` for TLS. */
export interface UrlConnectionOptions extends CommonConnectionOptions {
  url: string;
}

/** A standalone server addressed by host and port. */
export interface HostConnectionOptions extends CommonConnectionOptions {
  host: string;
  /** Default: 6379. */
  port?: number;
}

/** A master found through Redis Sentinel. */
export interface SentinelConnectionOptions extends CommonConnectionOptions {
  /** Sentinel addresses. */
  sentinels: { host: string; port: number }[];
  /** Name of the monitored master group. */
  name: string;
  /** Password of the Sentinels themselves. Default: none. */
  sentinelPassword?: string;
}

/** A Redis Cluster: tidykv opens an ioredis Cluster. */
export interface ClusterConnectionOptions extends Omit<CommonConnectionOptions, 'db'> {
  cluster: {
    /** Seed nodes; the rest are discovered. */
    nodes: (string | { host: string; port: number })[];
    /** Extra ioredis Cluster options, applied last. Default: none. */
    options?: ClusterOptions;
  };
}

/**
 * A client or Cluster the application already owns (for example from @nestjs-modules/ioredis).
 * tidykv uses it as it is and never closes it; its command timeout is still enforced per call.
 */
export interface ExistingClientOptions {
  client: Redis | Cluster;
  /** See {@link CommonConnectionOptions.commandTimeoutMs}. Default: 2000. */
  commandTimeoutMs?: number;
}

/**
 * One way to describe a Redis connection, shared by every tidykv module. Exactly one of `url`,
 * `host`, `sentinels`, `cluster` or `client` must be given.
 */
export type RedisConnectionOptions =
  | UrlConnectionOptions
  | HostConnectionOptions
  | SentinelConnectionOptions
  | ClusterConnectionOptions
  | ExistingClientOptions;

/** Defaults of {@link CommonConnectionOptions}. */
export const DEFAULT_CONNECTION_OPTIONS = Object.freeze({
  connectTimeoutMs: 5000,
  commandTimeoutMs: 2000,
});
