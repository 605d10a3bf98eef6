import { RedisProcess } from '@tidykv/testing';

/**
 * Starts a private redis-server for the demo when REDIS_URL is unset, so that `npm run demo`
 * works on a fresh machine. It keeps nothing on disk and is stopped with the app.
 */
export async function startThrowawayRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const proc = await RedisProcess.start();
  return { url: proc.url, stop: () => proc.close() };
}
