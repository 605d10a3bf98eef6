import { keySlot } from '@tidykv/core';
import type { Cluster } from 'ioredis';

/**
 * Groups `keys` by the master that serves them according to the client's slot cache, keeping
 * each key's position, so that a read of many entities costs one round trip per node.
 */
export function groupByNode(cluster: Cluster, keys: readonly string[]): number[][] {
  const groups = new Map<string, number[]>();
  keys.forEach((key, i) => {
    const slot = keySlot(key);
    // Before the slot cache is filled, fall back to one group per slot (always valid, just more trips).
    const node = (cluster.slots as string[][] | undefined)?.[slot]?.[0] ?? `slot:${slot}`;
    const g = groups.get(node);
    if (g) g.push(i);
    else groups.set(node, [i]);
  });
  return [...groups.values()];
}
