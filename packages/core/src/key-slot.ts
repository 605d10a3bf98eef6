import calculateSlot from 'cluster-key-slot';

/**
 * The Redis Cluster slot (0-16383) of `key`, honouring `{hash tags}` exactly as Redis does. Uses
 * `cluster-key-slot`, the implementation ioredis itself routes commands with, so tidykv's idea of
 * "same slot" can never disagree with the client's.
 */
export function keySlot(key: string): number {
  return calculateSlot(key);
}
