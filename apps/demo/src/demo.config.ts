import { randomBytes } from 'node:crypto';

/** Settings the demo reads from the environment. */
export interface DemoConfig {
  /** `PORT`. Default: 3000. */
  port: number;
  /** `HOST`. Default: 127.0.0.1 (loopback only, unless set). */
  host: string;
  /** `REDIS_URL`. Default: none, and the demo starts a throwaway redis-server. */
  redisUrl?: string;
  /** `SESSION_TTL_SECONDS`: the idle timeout of a session. Default: 1800. */
  sessionTtlSeconds: number;
  /**
   * `SESSION_SECRETS`: comma-separated cookie-signing secrets, newest first (32+ characters each).
   * Default: one random secret per process (sessions do not survive a restart).
   */
  sessionSecrets: string[];
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
  const secrets = env.SESSION_SECRETS ? env.SESSION_SECRETS.split(',').map((s) => s.trim()) : [randomBytes(32).toString('base64url')];
  if (secrets.some((s) => s.length < 32)) {
    throw new Error('SESSION_SECRETS must hold comma-separated secrets of at least 32 characters each; generate one with `openssl rand -base64 32`.');
  }
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    redisUrl: env.REDIS_URL || undefined,
    sessionTtlSeconds: ttl,
    sessionSecrets: secrets,
  };
}
