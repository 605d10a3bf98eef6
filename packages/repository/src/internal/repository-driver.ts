import type { Cluster, Redis } from 'ioredis';
import { TidyKvKeys, type RedisConnection, type RunOptions, type TidyKvLogger } from '@tidykv/core';
import type { ResolvedRepositoryOptions } from '../repository.options.js';
import { entityScripts } from './entity-scripts.js';

/**
 * What every repository of one context shares: the connection, the key layout, the options, the
 * attached scripts, and what this connection's servers turned out to accept. Internal: the
 * public face of it is {@link RepositoryContext}.
 */
export class RepositoryDriver {
  /**
   * Whether the servers take `RESTORE` (the one-command save of entities without @Indexed):
   * untried until the first such save, then either for good.
   */
  restore: 'untried' | 'works' | 'refused' = 'untried';

  constructor(
    readonly connection: RedisConnection,
    readonly options: ResolvedRepositoryOptions,
    private readonly logger: TidyKvLogger | undefined,
  ) {
    this.layout = new TidyKvKeys(options.keyPrefix, 'RepositoryModule.keyPrefix');
    for (const script of Object.values(entityScripts)) script.attach(connection.client);
  }

  /** The one key layout of @tidykv/core, under this context's prefix. */
  readonly layout: TidyKvKeys;

  get isCluster(): boolean {
    return this.connection.isCluster;
  }

  /** Runs `fn` under the connection's one deadline policy (see `RedisConnection.run`). */
  run<T>(operation: string, fn: (client: Redis | Cluster) => Promise<T>, options?: RunOptions): Promise<T> {
    return this.connection.run(operation, fn, options);
  }

  /** Records that the servers refuse RESTORE; saves use the script from now on. */
  refuseRestore(err: unknown): void {
    if (this.restore === 'refused') return;
    this.restore = 'refused';
    this.logger?.warn(
      `Redis refused RESTORE (${err instanceof Error ? err.message : String(err)}); entities without @Indexed are saved with a script from now on, ` +
        'which costs Redis about three times as much. Allow the command (ACL +restore) to get the cheaper save back.',
    );
  }
}
