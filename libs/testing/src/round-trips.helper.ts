import type { Cluster, Redis } from 'ioredis';

/**
 * Counts round trips: every socket write the ioredis connection(s) of `client` make while `fn`
 * runs (every node of a Cluster). ioredis writes a pipeline (or a single command) with one
 * `stream.write`, so writes = requests sent; sequential dependence is what makes them round
 * trips, and `perNode` shows how they were spread over a Cluster. This counts what the client
 * sends; what Redis executes (script-internal calls included) is {@link countCommands}'s job.
 * Connect the client first: a handshake during `fn` would be counted too.
 */
export async function countRoundTrips<T>(client: Redis | Cluster, fn: () => Promise<T>): Promise<{ result: T; total: number; perNode: Record<string, number> }> {
  const conns: Redis[] = client.isCluster ? (client as Cluster).nodes('all') : [client as Redis];
  const perNode: Record<string, number> = {};
  const restores: (() => void)[] = [];
  for (const conn of conns) {
    const stream = (conn as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
    const name = `${conn.options.host}:${conn.options.port}`;
    const original = stream.write;
    stream.write = function (this: unknown, ...args: unknown[]) {
      perNode[name] = (perNode[name] ?? 0) + 1;
      return original.apply(this, args);
    };
    restores.push(() => {
      stream.write = original;
    });
  }
  try {
    const result = await fn();
    const total = Object.values(perNode).reduce((a, b) => a + b, 0);
    return { result, total, perNode };
  } finally {
    for (const r of restores) r();
  }
}
