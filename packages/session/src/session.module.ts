import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { SessionStore } from './internal/session-store.js';
import { SessionAccessor } from './session-accessor.service.js';
import { SESSION_MODULE_OPTIONS, SESSION_STORE } from './session.constants.js';
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
      provide: SESSION_STORE,
      // Options are validated here, at start-up, so a bad option stops the app with a clear message.
      useFactory: (options: SessionModuleOptions) => new SessionStore(resolveSessionOptions(options)),
      inject: [SESSION_MODULE_OPTIONS],
    },
    SessionMiddleware,
    SessionAccessor,
    SessionService,
  ],
  exports: [SessionAccessor, SessionService, SESSION_STORE],
})
export class SessionModule extends SessionConfigurableModule implements NestModule {
  /** @internal Mounts the session middleware on every route. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(SessionMiddleware).forRoutes('*');
  }
}
