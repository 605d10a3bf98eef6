import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';

/** The one ioredis client of the app, shared by SessionModule and RepositoryModule. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

@Global()
@Module({})
export class RedisClientModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly client: Redis) {}

  static forRoot(url: string): DynamicModule {
    return {
      module: RedisClientModule,
      providers: [{ provide: REDIS_CLIENT, useFactory: () => new Redis(url, { connectionName: 'consumer-app' }) }],
      exports: [REDIS_CLIENT],
    };
  }

  // tidykv never closes a client it was given: the app owns it.
  async onApplicationShutdown(): Promise<void> {
    await this.client.quit();
  }
}
