import { readFileSync } from 'node:fs';
import { TidyKvConfigError, validateConnectionOptions, type RedisConnectionOptions } from '@tidykv/core';

/** Connection flags of the CLI, as commander parses them. */
export interface ConnectionFlags {
  /** `--url redis://[user:pass@]host:port[/db]` or `rediss://`. */
  url?: string;
  /** `--host`. */
  host?: string;
  /** `--port`. Default: 6379. */
  port?: string;
  /** `--db`. Default: 0. */
  db?: string;
  /** `--user`: ACL user. */
  user?: string;
  /** `--password`; prefer the TIDYKV_AUDIT_PASSWORD or REDISCLI_AUTH environment variables, which `ps` does not show. */
  password?: string;
  /** `--tls`. */
  tls?: boolean;
  /** `--tls-ca <file>`: PEM bundle of trusted CAs. */
  tlsCa?: string;
  /** `--tls-servername <name>`: SNI / certificate name. */
  tlsServername?: string;
  /** `--cluster host:port,...`: seed nodes of a Redis Cluster. */
  cluster?: string;
  /** `--sentinels host:port,...`. */
  sentinels?: string;
  /** `--sentinel-name`: the monitored master group. */
  sentinelName?: string;
  /** `--connect-timeout <ms>`. */
  connectTimeout?: string;
  /** `--command-timeout <ms>`. Default: 10000. */
  commandTimeout?: string;
  /** `--replicas`: on a Cluster, route reads to replicas too. */
  replicas?: boolean;
}

/** The CLI's command timeout default: generous, because one pipelined batch counts as one call. */
export const CLI_COMMAND_TIMEOUT_MS = 10_000;

function int(flag: string, v: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw TidyKvConfigError.invalid(flag, v, `an integer from ${min} to ${max}`);
  return n;
}

function addresses(flag: string, v: string): { host: string; port: number }[] {
  return v.split(',').map((a) => {
    const i = a.trim().lastIndexOf(':');
    const host = i > 0 ? a.trim().slice(0, i) : '';
    const port = Number(a.trim().slice(i + 1));
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw TidyKvConfigError.invalid(flag, v, 'a comma-separated list of host:port', 'For example --cluster 10.0.0.1:7000,10.0.0.2:7000.');
    }
    return { host, port };
  });
}

/**
 * Builds @tidykv/core `RedisConnectionOptions` from CLI flags (validated by
 * `validateConnectionOptions`). The password comes from `--password`, else TIDYKV_AUDIT_PASSWORD,
 * else REDISCLI_AUTH, so that it need not appear on the command line.
 */
export function connectionOptionsFromFlags(f: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): RedisConnectionOptions {
  const given = (['url', 'host', 'cluster', 'sentinels'] as const).filter((k) => f[k] !== undefined);
  if (given.length !== 1) {
    throw TidyKvConfigError.invalid(
      'connection',
      given.length === 0 ? 'no connection flag' : given.map((g) => `--${g}`).join(' and '),
      'exactly one of --url, --host, --cluster or --sentinels',
      'For example --url redis://10.0.0.5:6379 or --cluster 10.0.0.1:7000,10.0.0.2:7000.',
    );
  }
  const password = f.password ?? env.TIDYKV_AUDIT_PASSWORD ?? env.REDISCLI_AUTH;
  let tls: boolean | { ca?: Buffer; servername?: string } | undefined = f.tls ? true : undefined;
  if (f.tlsCa !== undefined || f.tlsServername !== undefined) {
    let ca: Buffer | undefined;
    if (f.tlsCa !== undefined) {
      try {
        ca = readFileSync(f.tlsCa);
      } catch {
        throw TidyKvConfigError.invalid('--tls-ca', f.tlsCa, 'a readable PEM file');
      }
    }
    tls = { ...(ca ? { ca } : {}), ...(f.tlsServername ? { servername: f.tlsServername } : {}) };
  }
  const common = {
    ...(f.user !== undefined ? { username: f.user } : {}),
    ...(password !== undefined && password !== '' ? { password } : {}),
    ...(tls !== undefined ? { tls } : {}),
    connectTimeoutMs: int('--connect-timeout', f.connectTimeout, 1),
    commandTimeoutMs: int('--command-timeout', f.commandTimeout, 1) ?? CLI_COMMAND_TIMEOUT_MS,
  };
  if (common.connectTimeoutMs === undefined) delete common.connectTimeoutMs;
  const db = int('--db', f.db, 0);
  let options: RedisConnectionOptions;
  if (f.url !== undefined) options = { url: f.url, ...common, ...(db !== undefined ? { db } : {}) };
  else if (f.host !== undefined) options = { host: f.host, port: int('--port', f.port, 1, 65535) ?? 6379, ...common, ...(db !== undefined ? { db } : {}) };
  else if (f.cluster !== undefined) {
    if (db !== undefined && db !== 0) throw TidyKvConfigError.invalid('--db', f.db, 'nothing with --cluster (a Cluster has only database 0)');
    options = { cluster: { nodes: addresses('--cluster', f.cluster), options: f.replicas ? { scaleReads: 'slave' } : {} }, ...common };
  } else {
    if (!f.sentinelName) throw TidyKvConfigError.invalid('--sentinel-name', f.sentinelName, 'the Sentinel master group name with --sentinels', 'Often "mymaster".');
    options = { sentinels: addresses('--sentinels', f.sentinels!), name: f.sentinelName, ...common, ...(db !== undefined ? { db } : {}) };
  }
  return validateConnectionOptions(options, 'connection');
}
