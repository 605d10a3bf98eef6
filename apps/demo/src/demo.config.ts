/** Settings the demo reads from the environment. */
export interface DemoConfig {
  /** `PORT`. Default: 3000. */
  port: number;
  /** `HOST`. Default: 127.0.0.1 (loopback only, unless set). */
  host: string;
  /** `REDIS_URL`. Default: none, and the demo starts a throwaway redis-server. */
  redisUrl?: string;
  /** `SESSION_TTL_SECONDS`. Default: 1800. */
  sessionTtlSeconds: number;
}

/** Reads and validates the demo's environment; throws a message naming the variable and the fix. */
export function readDemoConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer from 0 to 65535, received "${env.PORT}".`);
  }
  const ttl = Number(env.SESSION_TTL_SECONDS ?? 1800);
  if (!Number.isInteger(ttl) || ttl <= 0) {
    throw new Error(`SESSION_TTL_SECONDS must be a positive integer number of seconds, received "${env.SESSION_TTL_SECONDS}".`);
  }
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    redisUrl: env.REDIS_URL || undefined,
    sessionTtlSeconds: ttl,
  };
}
