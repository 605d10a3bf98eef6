import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';

/** The one ioredis client of the app, shared by SessionModule and RepositoryModule. */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');

export type RedisClient = Redis | Cluster;

// The app creates the client (createRedisClient from @tidykv/session) and closes it after
// app.close(); tidykv never closes a client it was given.
@Global()
@Module({})
export class RedisClientModule {
  static forRoot(client: RedisClient): DynamicModule {
    return { module: RedisClientModule, providers: [{ provide: REDIS_CLIENT, useValue: client }], exports: [REDIS_CLIENT] };
  }
}
