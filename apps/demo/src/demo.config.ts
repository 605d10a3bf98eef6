import { randomBytes } from 'node:crypto';

/** The HTTP platform the demo runs on. */
export type DemoPlatform = 'express' | 'fastify';

/** express-session + connect-redis sessions to migrate, read from `LEGACY_*`, for SessionModule's `legacy` option. */
export interface DemoLegacyConfig {
  /** `LEGACY_SESSION_SECRETS`: comma-separated secrets the old app signed its cookies with. */
  secrets: string[];
  /** `LEGACY_SESSION_PREFIX`. Default: `sess:`. */
  prefix: string;
  /** `LEGACY_COOKIE_NAME`. Default: `connect.sid`. */
  cookieName: string;
}

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
  /** `REFRESH_TTL_SECONDS`: how long a refresh token lives after it is issued. Default: 604800 (7 days). */
  refreshTtlSeconds: number;
  /** `PLATFORM`: `express` or `fastify`. Default: `express`. */
  platform: DemoPlatform;
  /** `LEGACY_SESSION_SECRETS` and friends; undefined (migration off) when `LEGACY_SESSION_SECRETS` is unset. */
  legacy: DemoLegacyConfig | undefined;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer number of seconds, received "${raw}".`);
  }
  return value;
}

function secretList(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((s) => s.trim());
}

/** Reads and validates the demo's environment; throws a message naming the variable and the fix. */
export function readDemoConfig(env: NodeJS.ProcessEnv = process.env): DemoConfig {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer from 0 to 65535, received "${env.PORT}".`);
  }
  const secrets = secretList(env.SESSION_SECRETS) ?? [randomBytes(32).toString('base64url')];
  if (secrets.some((s) => s.length < 32)) {
    throw new Error('SESSION_SECRETS must hold comma-separated secrets of at least 32 characters each; generate one with `openssl rand -base64 32`.');
  }
  const platform = (env.PLATFORM ?? 'express').toLowerCase();
  if (platform !== 'express' && platform !== 'fastify') {
    throw new Error(`PLATFORM must be "express" or "fastify", received "${env.PLATFORM}".`);
  }
  const legacySecrets = secretList(env.LEGACY_SESSION_SECRETS);
  if (legacySecrets?.some((s) => s === '')) {
    throw new Error('LEGACY_SESSION_SECRETS must hold comma-separated, non-empty secrets: the ones the express-session app signed its cookies with.');
  }
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    redisUrl: env.REDIS_URL || undefined,
    sessionTtlSeconds: positiveInteger(env, 'SESSION_TTL_SECONDS', 1800),
    sessionSecrets: secrets,
    refreshTtlSeconds: positiveInteger(env, 'REFRESH_TTL_SECONDS', 604_800),
    platform,
    legacy: legacySecrets && {
      secrets: legacySecrets,
      prefix: env.LEGACY_SESSION_PREFIX || 'sess:',
      cookieName: env.LEGACY_COOKIE_NAME || 'connect.sid',
    },
  };
}
