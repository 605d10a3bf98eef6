import type { Cluster } from 'ioredis';

// CRC16/XMODEM, the checksum Redis Cluster maps keys to its 16384 slots with.
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** The cluster slot of `key`, honouring `{hash tags}` as Redis does. */
export function keySlot(key: string): number {
  let k = Buffer.from(key, 'utf8');
  const open = k.indexOf(0x7b);
  if (open !== -1) {
    const close = k.indexOf(0x7d, open + 1);
    if (close > open + 1) k = k.subarray(open + 1, close);
  }
  let crc = 0;
  for (const b of k) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff];
  return crc & 0x3fff;
}

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
