import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { SessionModule, type SessionModuleOptions } from '@tidykv/session';
import { TidyKvHealthIndicator } from '@tidykv/session/terminus';
import { AuthController } from './auth/auth.controller.js';
import type { DemoConfig } from './demo.config.js';
import { HealthController } from './health.controller.js';
import { MeController } from './me.controller.js';
import { DemoMetrics } from './metrics/demo-metrics.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { PageController } from './page/page.controller.js';
import { TidyKvExceptionFilter } from './tidykv-exception.filter.js';
import { TokensModule } from './tokens/tokens.module.js';

/** What {@link AppModule.register} needs: the config, with the Redis URL known (maybe a throwaway server's). */
export type AppModuleConfig = Pick<DemoConfig, 'sessionSecrets' | 'sessionTtlSeconds' | 'refreshTtlSeconds' | 'legacy'> & {
  redisUrl: string;
  /** The OpenTelemetry SDK, when installed: mounts `GET /metrics`. Default: none (tidykv's metrics stay no-ops). */
  metrics?: DemoMetrics;
};

/** SessionModule's options from the demo's config. */
export function sessionOptions(config: AppModuleConfig): SessionModuleOptions {
  return {
    connection: { url: config.redisUrl },
    secrets: config.sessionSecrets,
    idleTimeoutMs: config.sessionTtlSeconds * 1000,
    principal: 'userId',
    // LEGACY_SESSION_SECRETS (and its prefix and cookie name): users of an express-session +
    // connect-redis app on the same Redis keep their sessions when they first reach the demo.
    ...(config.legacy ? { legacy: { connectRedis: { secrets: config.legacy.secrets, prefix: config.legacy.prefix, cookieName: config.legacy.cookieName } } } : {}),
  };
}

/** The demo's root module, built from its config (the Redis URL is only known at start). */
@Module({})
export class AppModule {
  static register(config: AppModuleConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SessionModule.forRoot(sessionOptions(config)),
        // Refresh tokens on @tidykv/repository: /auth/login and /auth/refresh, and the /tokens routes.
        TokensModule.register(config.redisUrl, { refreshTtlSeconds: config.refreshTtlSeconds }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [PageController, HealthController, AuthController, MeController, ...(config.metrics ? [MetricsController] : [])],
      providers: [
        TidyKvHealthIndicator,
        { provide: APP_FILTER, useClass: TidyKvExceptionFilter },
        ...(config.metrics ? [{ provide: DemoMetrics, useValue: config.metrics }] : []),
      ],
    };
  }
}
