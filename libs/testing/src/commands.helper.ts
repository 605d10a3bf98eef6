import type { Cluster, Redis } from 'ioredis';

/** Calls per command name, e.g. `{ get: 3, evalsha: 1 }`, lower-cased as Redis reports them. */
export type CommandCounts = Record<string, number>;

async function nodeStats(client: Redis): Promise<CommandCounts> {
  const info = await client.info('commandstats');
  const out: CommandCounts = {};
  for (const line of info.split('\n')) {
    // cmdstat_hgetall:calls=3,usec=... ; subcommands look like cmdstat_client|setname
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

function masters(client: Redis | Cluster): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
}

/** Current `INFO commandstats` counters, summed over every master when given a Cluster. */
export async function readCommandStats(client: Redis | Cluster): Promise<CommandCounts> {
  const total: CommandCounts = {};
  for (const node of masters(client)) {
    for (const [k, v] of Object.entries(await nodeStats(node))) total[k] = (total[k] ?? 0) + v;
  }
  return total;
}

// The probe's own INFO calls and the connection handshake are not the code under test.
const OWN = new Set(['info', 'client|setname', 'client|setinfo', 'select', 'hello', 'cluster|slots', 'cluster|shards', 'cluster|info', 'ping', 'command', 'command|docs', 'command|info']);

/**
 * Runs `fn` and returns the commands Redis executed meanwhile, from `INFO commandstats` deltas.
 * `total` excludes the probe's own INFO and connection housekeeping. Run it on a server no other
 * test shares, or the counts include their traffic.
 */
export async function countCommands<T>(
  client: Redis | Cluster,
  fn: () => Promise<T>,
): Promise<{ result: T; counts: CommandCounts; total: number }> {
  const before = await readCommandStats(client);
  const result = await fn();
  const after = await readCommandStats(client);
  const counts: CommandCounts = {};
  let total = 0;
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0 && !OWN.has(k)) {
      counts[k] = d;
      total += d;
    }
  }
  return { result, counts, total };
}

/** Resets the counters on every master (CONFIG RESETSTAT). */
export async function resetCommandStats(client: Redis | Cluster): Promise<void> {
  for (const node of masters(client)) await node.config('RESETSTAT');
}
