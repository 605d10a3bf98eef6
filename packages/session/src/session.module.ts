import { Logger, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { LegacySessionMigrator } from './internal/legacy-migration.js';
import { RedisSessionRepository } from './internal/redis-session.repository.js';
import { SessionRuntime } from './internal/session-runtime.js';
import { SessionAccessor } from './session-accessor.service.js';
import { SESSION_MODULE_OPTIONS, SESSION_RUNTIME } from './session.constants.js';
import { SessionMiddleware } from './session.middleware.js';
import { SessionConfigurableModule } from './session.module-definition.js';
import { resolveSessionOptions, type SessionModuleOptions } from './session.options.js';
import { SessionService } from './session.service.js';

/**
 * Redis sessions for NestJS. Register once with `SessionModule.forRoot({ connection, secrets })` or
 * `forRootAsync({ useFactory, inject })`; global by default (`isGlobal: false` to opt out). Take the
 * session with `@Session()` in controllers, or `SessionAccessor` anywhere downstream.
 */
@Module({
  providers: [
    {
      provide: SESSION_RUNTIME,
      // Options are validated here, at start-up, so a bad option stops the app with a clear message.
      useFactory: (options: SessionModuleOptions) => {
        const resolved = resolveSessionOptions(options);
        const logger = new Logger('SessionModule');
        const repository = new RedisSessionRepository(resolved, logger);
        const runtime = new SessionRuntime(resolved, repository, (id) => repository.keys.session(id), logger);
        if (resolved.legacy) runtime.legacy = new LegacySessionMigrator(resolved.legacy, resolved, repository, logger);
        return runtime;
      },
      inject: [SESSION_MODULE_OPTIONS],
    },
    SessionMiddleware,
    SessionAccessor,
    SessionService,
  ],
  exports: [SessionAccessor, SessionService, SESSION_RUNTIME],
})
export class SessionModule extends SessionConfigurableModule implements NestModule {
  /** @internal Mounts the session middleware on every route. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(SessionMiddleware).forRoutes('*');
  }
}
