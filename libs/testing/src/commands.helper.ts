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

/** One command as MONITOR reports it. */
export interface MonitoredCommand {
  /** The command and its arguments, as sent. */
  readonly args: string[];
  /** Who ran it: `'lua'` for a `redis.call` inside a script, else the client's `ip:port` (or `unix:...`). */
  readonly source: string;
}

// MONITOR lines arrive asynchronously: a PING from another connection marks the end of the window.
const END_MARKER = 'tidykv-monitor-end';

/**
 * Runs `fn` and returns every command the server received meanwhile, read with MONITOR, in
 * order, script-internal calls included (their `source` is `'lua'`). The window ends with a
 * marker PING sent on a duplicate of `monitorClient` (connected beforehand, so nothing of its own
 * is listed) once `fn` has settled. `monitorClient` must
 * be a fresh client on the server under test; it is put in MONITOR mode and closed. Run it on a
 * server no other test shares, or the list includes their traffic.
 */
export async function monitorCommands<T>(monitorClient: Redis, fn: () => Promise<T>): Promise<{ result: T; commands: MonitoredCommand[] }> {
  // The marker connects before MONITOR starts, so that its handshake is not in the list.
  const marker = monitorClient.duplicate();
  try {
    await marker.ping();
    const monitor = await monitorClient.monitor();
    const seen: MonitoredCommand[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ args, source }));
    try {
      const result = await fn();
      await marker.ping(END_MARKER);
      // Generous: the MONITOR feed of a loaded machine can lag, and a missing marker is a broken
      // test, not a slow one.
      const deadline = Date.now() + 10_000;
      const isMarker = (c: MonitoredCommand): boolean => c.args[0]?.toLowerCase() === 'ping' && c.args[1] === END_MARKER;
      while (!seen.some(isMarker)) {
        if (Date.now() > deadline) throw new Error('monitorCommands: the end marker did not come back through MONITOR within 10 s');
        await new Promise((r) => setTimeout(r, 5));
      }
      return { result, commands: seen.slice(0, seen.findIndex(isMarker)) };
    } finally {
      monitor.disconnect();
    }
  } finally {
    marker.disconnect();
  }
}

// Connection housekeeping of any client (ioredis' handshake, a marker's PING), not the code under test.
const HOUSEKEEPING = /^(info|client|select|hello|ping)$/i;

/**
 * Counts round trips as the server sees them: the commands clients sent while `fn` runs, read
 * with MONITOR ({@link monitorCommands}). Calls that Redis marks as coming from Lua
 * (`redis.call` inside a script) are left out, so a script counts as one command (its EVALSHA
 * or EVAL), and so is connection housekeeping (INFO, CLIENT, SELECT, HELLO, PING). Each entry is
 * the command line joined by spaces. This is what clients send, over every connection;
 * {@link countCommands} counts what Redis executes, script-internal calls included, and
 * `countRoundTrips` the writes of one ioredis client. `monitorClient` must be a fresh client
 * on the server under test; it is put in MONITOR mode and closed. Run on a server no other test
 * shares.
 */
export async function countClientCommands<T>(monitorClient: Redis, fn: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const { result, commands } = await monitorCommands(monitorClient, fn);
  return { result, commands: commands.filter((c) => c.source !== 'lua' && !HOUSEKEEPING.test(c.args[0] ?? '')).map((c) => c.args.join(' ')) };
}
