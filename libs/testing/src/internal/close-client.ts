import type { Cluster, Redis } from 'ioredis';

/**
 * Closes a client and waits for its socket to end, so that Jest sees no open handle. A plain
 * `disconnect()` leaves ioredis's own destroy timer running for two seconds.
 */
export async function closeClient(c: Redis | Cluster): Promise<void> {
  if (c.status === 'end') return;
  const ended = new Promise<void>((resolve) => c.once('end', () => resolve()));
  if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
  else c.disconnect();
  await Promise.race([ended, new Promise((r) => setTimeout(r, 1000).unref())]);
}
