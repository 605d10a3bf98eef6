import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import type { RedisConnection } from '@tidykv/core';
import { TidyKvAuditError } from '../audit.errors.js';

/** One server whose keyspace is walked with SCAN. */
export interface ScanNode {
  /** `host:port`, the node's identity in checkpoints and reports. */
  readonly id: string;
  /** A client bound to that one node (SCAN and same-node pipelines go here). */
  readonly client: Redis;
}

/** The nodes to walk and a way to close the extra connections opened to find them. */
export interface NodeSet {
  readonly nodes: ScanNode[];
  close(): Promise<void>;
}

function idOf(c: Redis): string {
  return `${c.options.host ?? '127.0.0.1'}:${c.options.port ?? 6379}`;
}

async function waitReady(cluster: Cluster, timeoutMs: number): Promise<void> {
  if (cluster.status === 'ready') return;
  if (cluster.status === 'wait') await cluster.connect();
  if ((cluster.status as string) === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(TidyKvAuditError.topology(`The cluster was not ready within ${timeoutMs} ms; check the seed nodes.`)), timeoutMs);
    cluster.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Every master of a Cluster (or every replica with `replicas`), or the standalone server (or the
 * replicas it lists in INFO replication). Replicas of a standalone master are reached with the
 * master's own connection options (credentials, TLS), since they normally share them.
 */
export async function resolveNodes(conn: RedisConnection, replicas: boolean): Promise<NodeSet> {
  if (conn.isCluster) {
    const cluster = conn.client as Cluster;
    await waitReady(cluster, Math.max(conn.commandTimeoutMs, 5000));
    const masters = cluster.nodes('master');
    if (masters.length === 0) throw TidyKvAuditError.topology('The cluster reports no masters.');
    if (!replicas) return { nodes: masters.map((client) => ({ id: idOf(client), client })).sort((a, b) => a.id.localeCompare(b.id)), close: async () => {} };
    // Replicas come from CLUSTER NODES rather than the client's slot map: CLUSTER SLOTS (which
    // ioredis reads) leaves out replicas until gossip reports a replication offset for them.
    const text = (await conn.run('cluster nodes', () => masters[0].call('CLUSTER', 'NODES'))) as string;
    const found = text
      .split('\n')
      .map((l) => l.trim().split(' '))
      .filter((f) => f.length >= 8 && f[2].split(',').includes('slave') && !/fail|noaddr|handshake/.test(f[2]) && f[7] === 'connected')
      .map((f) => {
        const addr = f[1].split('@')[0];
        const i = addr.lastIndexOf(':');
        return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
      });
    if (found.length === 0) throw TidyKvAuditError.topology('The cluster has no connected replicas to read from; run without --replicas.');
    const base = (cluster.options.redisOptions ?? {}) as RedisOptions;
    // READONLY (sent on connect) lets a cluster replica answer TYPE, PTTL and the like instead of MOVED.
    const opened = found.map(({ host, port }) => new Redis({ ...base, host, port, readOnly: true }));
    return {
      nodes: opened.map((c) => ({ id: idOf(c), client: c })).sort((a, b) => a.id.localeCompare(b.id)),
      async close() {
        await Promise.all(opened.map((c) => c.quit().catch(() => c.disconnect())));
      },
    };
  }
  const client = conn.client as Redis;
  if (!replicas) {
    await conn.run('ping', (c) => c.ping());
    return { nodes: [{ id: idOf(client), client }], close: async () => {} };
  }
  const info = await conn.run('info replication', (c) => c.info('replication'));
  const found = [...info.matchAll(/^slave\d+:ip=([^,]+),port=(\d+),state=online/gm)].map((m) => ({ host: m[1], port: Number(m[2]) }));
  if (found.length === 0) {
    throw TidyKvAuditError.topology('The server lists no online replica in INFO replication; run without --replicas, or point at a master that has replicas.');
  }
  const opened = found.map(({ host, port }) => new Redis({ ...client.options, host, port, lazyConnect: false }));
  return {
    nodes: opened.map((c) => ({ id: idOf(c), client: c })).sort((a, b) => a.id.localeCompare(b.id)),
    async close() {
      await Promise.all(opened.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
