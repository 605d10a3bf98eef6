// `@tidykv/session/terminus`: the @nestjs/terminus integration, re-exported from @tidykv/core so
// that apps need no direct @tidykv/core dependency. Importing it registers SessionModule's
// connections with TidyKvHealthIndicator. A subpath because @nestjs/terminus is an optional peer.
import { registerTidyKvConnectionSource } from '@tidykv/core/terminus';
import { RedisSessionRepository } from '../internal/redis-session.repository.js';
import type { SessionRuntime } from '../internal/session-runtime.js';
import { SESSION_RUNTIME } from '../session.constants.js';

registerTidyKvConnectionSource({
  name: 'session',
  token: SESSION_RUNTIME,
  connections(provider) {
    const repository = (provider as SessionRuntime | undefined)?.repository;
    if (!(repository instanceof RedisSessionRepository)) return [];
    const main = { label: 'session', connection: repository.mainConnection };
    // With the near-cache on, session commands go over its tracked connection: check that one too.
    const tracked = repository.nearCache?.connection;
    return tracked && tracked !== main.connection ? [main, { label: 'session near-cache', connection: tracked }] : [main];
  },
});

export { TidyKvHealthIndicator, DEFAULT_TIDYKV_PING_CHECK_OPTIONS } from '@tidykv/core/terminus';
export type { TidyKvPingCheckOptions, TidyKvConnectionHealth } from '@tidykv/core/terminus';
