import { Module, type DynamicModule } from '@nestjs/common';
import { RepositoryModule } from '@tidykv/repository';
import { SessionModule } from '@tidykv/session';
import { AuthController } from './auth.controller.js';
import { MeController } from './me.controller.js';
import { REDIS_CLIENT, RedisClientModule, type RedisClient } from './redis-client.module.js';
import { TokensModule } from './tokens/tokens.module.js';

export interface AppOptions {
  /** The app's one Redis client (createRedisClient from @tidykv/session). */
  client: RedisClient;
}

const SECRET = 'consumer-suite-secret-0123456789abcdef';

@Module({})
export class AppModule {
  // One connection for both modules, the documented way: one client from createRedisClient,
  // passed to both as `connection: { client }`.
  static register(options: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RedisClientModule.forRoot(options.client),
        SessionModule.forRootAsync({
          inject: [REDIS_CLIENT],
          useFactory: (client: RedisClient) => ({ connection: { client }, secrets: [SECRET] }),
        }),
        RepositoryModule.forRootAsync({
          inject: [REDIS_CLIENT],
          useFactory: (client: RedisClient) => ({ connection: { client } }),
        }),
        TokensModule,
      ],
      controllers: [AuthController, MeController],
    };
  }
}
