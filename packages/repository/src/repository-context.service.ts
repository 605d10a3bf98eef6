import type { Cluster, Redis } from 'ioredis';
import { encodeKeyPart, KeyBuilder, RedisConnection } from '@tidykv/core';
import { attachEntityScripts } from './internal/entity-scripts.js';
import type { EntityClass } from './internal/entity-metadata.js';
import { validateRepositoryOptions, type RepositoryModuleOptions, type ResolvedRepositoryOptions } from './repository.options.js';
import { EntityRepository } from './entity.repository.js';

/** A repository class: {@link EntityRepository} or a subclass with the same constructor. */
export type RepositoryClass<T extends object, R extends EntityRepository<T> = EntityRepository<T>> = new (
  entity: EntityClass<T>,
  context: RepositoryContext,
) => R;

/**
 * The connection, key layout and scripts that every repository of an app shares. Nest apps get
 * it from `RepositoryModule.forRoot`; scripts, CLIs and benchmarks create one with
 * {@link RepositoryContext.create} and call {@link RepositoryContext.close} when done.
 */
export class RepositoryContext {
  /** Builds `<keyPrefix><keyspace>:{<id>}` keys. */
  readonly keys: KeyBuilder;

  private constructor(
    /** The Redis connection (closed by {@link close} only when tidykv opened it). */
    readonly connection: RedisConnection,
    /** The validated options. */
    readonly options: ResolvedRepositoryOptions,
  ) {
    this.keys = new KeyBuilder(options.keyPrefix, 'RepositoryModule.keyPrefix');
    attachEntityScripts(connection.client);
  }

  /**
   * Runs `fn` against the client and maps connection failures and timeouts to
   * {@link RedisUnavailableError}. Uses ioredis's own command timeout when the client has one,
   * else {@link RedisConnection.run}'s.
   */
  run<T>(operation: string, fn: (client: Redis | Cluster) => Promise<T>): Promise<T> {
    return this.connection.run(operation, fn);
  }

  /** Validates `options` (throwing {@link TidyKvConfigError} on bad ones) and opens or adopts the connection. */
  static create(options: RepositoryModuleOptions): RepositoryContext {
    const resolved = validateRepositoryOptions(options);
    return new RepositoryContext(RedisConnection.create(resolved.connection, 'RepositoryModule.connection', 'tidykv-repository'), resolved);
  }

  /** True when the connection is a Redis Cluster. */
  get isCluster(): boolean {
    return this.connection.isCluster;
  }

  /** Key of the index sorted set of `property` = the value whose key part is `part`. */
  indexKey(keyspace: string, property: string, part: string): string {
    return `${this.options.keyPrefix}${keyspace}:idx:${encodeKeyPart(property)}:{${part}}`;
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
