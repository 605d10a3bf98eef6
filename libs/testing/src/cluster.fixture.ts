import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { closeClient } from './internal/close-client.js';
import { freePort } from './internal/free-port.js';
import { RedisProcess } from './redis-process.js';

/** Options for {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Number of masters; the 16384 slots are split evenly between them. Default: 3. */
  masters?: number;
  /** Replicas per master, for failover tests. Default: 0. */
  replicasPerMaster?: number;
  /** Node timeout in ms; lower means faster automatic failover. Default: 2000. */
  nodeTimeoutMs?: number;
  /**
   * `cluster-require-full-coverage`: with `true` every node refuses every command (CLUSTERDOWN)
   * while any slot has no live master (Redis's own default); with `false` the other shards keep
   * serving while one shard fails over. Default: true.
   */
  requireFullCoverage?: boolean;
}

/** What {@link RedisTestCluster.killMaster} observed. */
export interface MasterKillReport {
  /** Index (in `nodes`) of the replica that took over. */
  readonly promotedIndex: number;
  /** From the kill until the replica reported itself master and every live node cluster_state:ok, ms. */
  readonly promotedAfterMs: number;
}

/** One node of a {@link RedisTestCluster}. */
export interface ClusterNode {
  readonly process: RedisProcess;
  readonly role: 'master' | 'replica';
  readonly id: string;
  /** Index of the master this replica follows (for masters, their own index). */
  readonly masterIndex: number;
}

/** A local Redis Cluster on loopback. Always call {@link RedisTestCluster.close} in `afterAll`. */
export interface RedisTestCluster {
  readonly nodes: readonly ClusterNode[];
  /** `{ host, port }` of every master, the seed list for an ioredis Cluster. */
  readonly seeds: { host: string; port: number }[];
  /** A new ioredis Cluster client; closed by {@link close}. */
  client(options?: ClusterOptions): Cluster;
  /** A plain client to one node. */
  nodeClient(index: number): Redis;
  /** Promotes the replica of master `masterIndex` with CLUSTER FAILOVER and waits until it is master. */
  failover(masterIndex: number): Promise<void>;
  /**
   * Kills master `masterIndex` with SIGKILL (kill -9, no failover handshake) and waits until the
   * cluster notices (node timeout), promotes its replica and every live node reports
   * `cluster_state:ok`. The killed node stays down.
   */
  killMaster(masterIndex: number, timeoutMs?: number): Promise<MasterKillReport>;
  /** Stops every node and closes every client. */
  close(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` masters (and replicas on request) and resolves once every
 * node reports `cluster_state:ok`. Slots are assigned with CLUSTER ADDSLOTSRANGE and nodes
 * joined with CLUSTER MEET, so no redis-cli is needed.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisTestCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 0;
  const nodeTimeout = options.nodeTimeoutMs ?? 2000;
  const fullCoverage = options.requireFullCoverage ?? true;
  const total = masters * (1 + replicas);
  const clients = new Set<Redis | Cluster>();
  const procs: RedisProcess[] = [];
  try {
    for (let i = 0; i < total; i++) {
      // The bus port must be chosen too: port + 10000 overflows above 55535.
      const busPort = await freePort();
      procs.push(
        await RedisProcess.start({
          args: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', `nodes-${i}.conf`,
            '--cluster-node-timeout', String(nodeTimeout),
            '--cluster-port', String(busPort),
            '--cluster-announce-ip', '127.0.0.1',
            '--cluster-require-full-coverage', fullCoverage ? 'yes' : 'no',
          ],
        }),
      );
    }
    const admin = procs.map((p) => p.client({ maxRetriesPerRequest: 1 }));
    const ids = await Promise.all(admin.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
    const busPorts = await Promise.all(
      admin.map(async (c) => Number((await c.config('GET', 'cluster-port'))[1])),
    );

    const per = Math.floor(16384 / masters);
    for (let m = 0; m < masters; m++) {
      const start = m * per;
      const end = m === masters - 1 ? 16383 : start + per - 1;
      await admin[m].call('CLUSTER', 'ADDSLOTSRANGE', start, end);
    }
    for (let i = 1; i < total; i++) {
      await admin[0].call('CLUSTER', 'MEET', '127.0.0.1', procs[i].port, busPorts[i]);
    }
    await waitFor(async () => {
      for (const c of admin) {
        const known = ((await c.call('CLUSTER', 'NODES')) as string).trim().split('\n');
        if (known.length < total || known.some((l) => l.includes('handshake') || l.includes('noaddr'))) return false;
      }
      return true;
    }, 'all nodes to meet');

    const nodes: ClusterNode[] = [];
    for (let m = 0; m < masters; m++) nodes.push({ process: procs[m], role: 'master', id: ids[m], masterIndex: m });
    for (let i = masters; i < total; i++) {
      const masterIndex = (i - masters) % masters;
      await admin[i].call('CLUSTER', 'REPLICATE', ids[masterIndex]);
      nodes.push({ process: procs[i], role: 'replica', id: ids[i], masterIndex });
    }
    await waitFor(async () => {
      for (const c of admin) {
        const info = (await c.call('CLUSTER', 'INFO')) as string;
        if (!info.includes('cluster_state:ok')) return false;
      }
      return true;
    }, 'cluster_state:ok on every node');
    // A replica that has not finished its first sync refuses CLUSTER FAILOVER, so failover tests
    // would be flaky unless the fixture waits for every replication link here.
    await waitFor(async () => {
      for (let i = masters; i < total; i++) {
        const info = await admin[i].info('replication');
        if (!info.includes('master_link_status:up')) return false;
      }
      return true;
    }, 'every replica to sync with its master');
    await Promise.all(admin.map(closeClient));

    const seeds = procs.slice(0, masters).map((p) => ({ host: p.host, port: p.port }));
    return {
      nodes,
      seeds,
      client(opts = {}) {
        const c = new Cluster(seeds, { ...opts });
        clients.add(c);
        return c;
      },
      nodeClient(index) {
        return procs[index].client();
      },
      async failover(masterIndex) {
        const replica = nodes.find((n) => n.role === 'replica' && n.masterIndex === masterIndex);
        if (!replica) throw new Error(`master ${masterIndex} has no replica: start the cluster with replicasPerMaster >= 1`);
        const c = replica.process.client();
        try {
          await c.call('CLUSTER', 'FAILOVER');
          await waitFor(async () => ((await c.call('ROLE')) as unknown[])[0] === 'master', 'the replica to become master');
        } finally {
          await closeClient(c);
        }
      },
      async killMaster(masterIndex, timeoutMs = 30_000) {
        const replica = nodes.find((n) => n.role === 'replica' && n.masterIndex === masterIndex && n.process.running);
        if (!replica) throw new Error(`master ${masterIndex} has no live replica: start the cluster with replicasPerMaster >= 1`);
        const started = performance.now();
        await nodes[masterIndex].process.kill();
        const survivors = procs.filter((p) => p.running).map((p) => p.client({ maxRetriesPerRequest: 1 }));
        const r = replica.process.client({ maxRetriesPerRequest: 1 });
        try {
          await waitFor(async () => ((await r.call('ROLE')) as unknown[])[0] === 'master', 'the replica to be promoted', timeoutMs);
          await waitFor(async () => {
            for (const c of survivors) if (!((await c.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok')) return false;
            return true;
          }, 'cluster_state:ok on every live node', timeoutMs);
        } finally {
          await Promise.all([...survivors, r].map(closeClient));
        }
        return { promotedIndex: nodes.indexOf(replica), promotedAfterMs: performance.now() - started };
      },
      async close() {
        await Promise.all([...clients].map(closeClient));
        await Promise.all(procs.map((p) => p.close()));
      },
    };
  } catch (err) {
    await Promise.all([...clients].map(closeClient));
    await Promise.all(procs.map((p) => p.close()));
    throw err;
  }
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
