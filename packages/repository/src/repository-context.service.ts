import type { Cluster, Redis } from 'ioredis';
import { KeyBuilder, RedisConnection, type RunOptions, type TidyKvKeys, type TidyKvLogger } from '@tidykv/core';
import { EntityRepository, type EntityRepositoryContext, type RepositoryClass } from './entity.repository.js';
import type { EntityClass } from './entity.types.js';
import { RepositoryDriver } from './internal/repository-driver.js';
import { validateRepositoryOptions, type RepositoryModuleOptions, type ResolvedRepositoryOptions } from './repository.options.js';

export type { RepositoryClass };

/** Options of {@link RepositoryContext.create} beyond the module options. */
export interface RepositoryContextExtras {
  /**
   * Where an outage of the connection is reported (once when it starts, once when it ends), and
   * a fallback of saves from RESTORE to a script. `RepositoryModule` passes Nest's `Logger`.
   * Default: none.
   */
  logger?: TidyKvLogger;
}

/**
 * The connection, key layout and scripts that every repository of an app shares. Nest apps get
 * it from `RepositoryModule.forRoot`; scripts, CLIs and benchmarks create one with
 * {@link RepositoryContext.create} and call {@link RepositoryContext.close} when done.
 */
export class RepositoryContext implements EntityRepositoryContext {
  /**
   * Builds `<keyPrefix><keyspace>:{<id>}` keys.
   * @deprecated Use {@link layout}; tidykv itself builds every key with it.
   */
  readonly keys: KeyBuilder;
  /** @internal */
  readonly driver: RepositoryDriver;

  private constructor(
    /** The Redis connection (closed by {@link close} only when tidykv opened it). */
    readonly connection: RedisConnection,
    /** The validated options. */
    readonly options: ResolvedRepositoryOptions,
    logger: TidyKvLogger | undefined,
  ) {
    this.keys = new KeyBuilder(options.keyPrefix, 'RepositoryModule.keyPrefix');
    this.driver = new RepositoryDriver(connection, options, logger);
  }

  /** The key layout of @tidykv/core under this context's prefix: entity keys, index keys, their SCAN globs. */
  get layout(): TidyKvKeys {
    return this.driver.layout;
  }

  /**
   * Runs `fn` against the client under @tidykv/core's one deadline policy (`RedisConnection.run`):
   * the whole of `fn`, however many commands it sends, gets `commandTimeoutMs` from now; it waits
   * for a connection rather than queueing in ioredis; a dropped connection fails it with
   * `RedisUnavailableError` (nothing applied) or, for `{ write: true }` after the command was
   * sent, `TidyKvOutcomeUnknownError`. Reads and `{ idempotent: true }` writes are retried on
   * the next connection within the deadline. Default options: a read.
   */
  run<T>(operation: string, fn: (client: Redis | Cluster) => Promise<T>, options?: RunOptions): Promise<T> {
    return this.connection.run(operation, fn, options);
  }

  /**
   * Validates `options` (throwing {@link TidyKvConfigError} on bad ones) and opens or adopts the
   * connection. Pass `{ connection: { client } }` to share one ioredis client with other modules
   * (see the README, "One connection").
   */
  static create(options: RepositoryModuleOptions, extras: RepositoryContextExtras = {}): RepositoryContext {
    const resolved = validateRepositoryOptions(options);
    const connection = RedisConnection.create(resolved.connection, 'RepositoryModule.connection', { connectionName: 'tidykv-repository', logger: extras.logger });
    return new RepositoryContext(connection, resolved, extras.logger);
  }

  /** True when the connection is a Redis Cluster. */
  get isCluster(): boolean {
    return this.connection.isCluster;
  }

  /** Key of the index sorted set of `property` = the value whose key part is `part`. */
  indexKey(keyspace: string, property: string, part: string): string {
    return this.driver.layout.entityIndex(keyspace, property, part);
  }

  /** A repository for `entity`, of class `repositoryClass` (default {@link EntityRepository}). */
  repository<T extends object, R extends EntityRepository<T> = EntityRepository<T>>(entity: EntityClass<T>, repositoryClass?: RepositoryClass<T, R>): R {
    const Repo = repositoryClass ?? (EntityRepository as unknown as RepositoryClass<T, R>);
    return new Repo(entity, this);
  }

  /** Closes the connection if tidykv opened it; app-owned clients stay open. */
  async close(): Promise<void> {
    await this.connection.close();
  }
}
