import { keySlot } from '@tidykv/core';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';

/**
 * Sends one command per key, one pipeline per node (a single pipeline on a standalone server),
 * all nodes in parallel, and returns the replies in the order of `keys`: many entities cost one
 * round trip per node. The first error reply fails the whole call.
 */
export async function perNode<R>(client: Redis | Cluster, keys: readonly string[], queue: (pipeline: ChainableCommander, key: string) => void): Promise<R[]> {
  if (keys.length === 0) return [];
  const groups = client.isCluster ? groupByNode(client as Cluster, keys) : [keys.map((_, i) => i)];
  const out = new Array<R>(keys.length);
  await Promise.all(
    groups.map(async (group) => {
      const p = client.pipeline();
      for (const i of group) queue(p, keys[i]);
      const replies = (await p.exec()) ?? [];
      group.forEach((i, j) => {
        const [err, reply] = replies[j] ?? [new Error('the pipeline returned no reply')];
        if (err) throw err;
        out[i] = reply as R;
      });
    }),
  );
  return out;
}

/**
 * Groups `keys` by the master that serves them according to the client's slot cache, keeping
 * each key's position. Before the slot cache is filled, one group per slot (always valid, just
 * more trips).
 */
function groupByNode(cluster: Cluster, keys: readonly string[]): number[][] {
  const groups = new Map<string, number[]>();
  const slots = cluster.slots as string[][] | undefined;
  keys.forEach((key, i) => {
    const slot = keySlot(key);
    const node = slots?.[slot]?.[0] ?? `slot:${slot}`;
    const g = groups.get(node);
    if (g) g.push(i);
    else groups.set(node, [i]);
  });
  return [...groups.values()];
}
