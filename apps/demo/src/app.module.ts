import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { SessionModule } from '@tidykv/session';
import { AuthController } from './auth.controller.js';
import type { DemoConfig } from './demo.config.js';
import { HealthController } from './health.controller.js';
import { MeController } from './me.controller.js';
import { RedisUnavailableFilter } from './redis-unavailable.filter.js';
import { TokensModule } from './tokens/tokens.module.js';

/** The demo's root module, built from its config (the Redis URL is only known at start). */
@Module({})
export class AppModule {
  static register(config: DemoConfig & { redisUrl: string }): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SessionModule.forRoot({
          connection: { url: config.redisUrl },
          secrets: config.sessionSecrets,
          idleTimeoutMs: config.sessionTtlSeconds * 1000,
          principal: 'userId',
        }),
        // Refresh tokens on @tidykv/repository: POST /tokens, GET /tokens?userId=, DELETE /tokens?userId=.
        TokensModule.register(config.redisUrl),
      ],
      controllers: [HealthController, AuthController, MeController],
      providers: [{ provide: APP_FILTER, useClass: RedisUnavailableFilter }],
    };
  }
}
