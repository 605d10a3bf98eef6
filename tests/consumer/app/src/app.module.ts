import { Module, type DynamicModule } from '@nestjs/common';
import { RepositoryModule } from '@tidykv/repository';
import { SessionModule } from '@tidykv/session';
import type { Redis } from 'ioredis';
import { AuthController } from './auth.controller.js';
import { MeController } from './me.controller.js';
import { REDIS_CLIENT, RedisClientModule } from './redis-client.module.js';
import { TokensModule } from './tokens/tokens.module.js';

export interface AppOptions {
  redisUrl: string;
}

const SECRET = 'consumer-suite-secret-0123456789abcdef';

@Module({})
export class AppModule {
  // One connection for both modules: one ioredis client, passed as `connection: { client }`.
  static register(options: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RedisClientModule.forRoot(options.redisUrl),
        SessionModule.forRootAsync({
          inject: [REDIS_CLIENT],
          useFactory: (client: Redis) => ({ connection: { client }, secrets: [SECRET] }),
        }),
        RepositoryModule.forRootAsync({
          inject: [REDIS_CLIENT],
          useFactory: (client: Redis) => ({ connection: { client } }),
        }),
        TokensModule,
      ],
      controllers: [AuthController, MeController],
    };
  }
}
