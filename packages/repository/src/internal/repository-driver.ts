import type { Cluster, Redis } from 'ioredis';
import { TidyKvKeys, type RedisConnection, type RunOptions, type TidyKvLogger } from '@tidykv/core';
import type { ResolvedRepositoryOptions } from '../repository.options.js';
import { entityScripts } from './entity-scripts.js';
import type { PlainSaveMode } from './hash-payload.js';

/**
 * What every repository of one context shares: the connection, the key layout, the options, the
 * attached scripts, and what this connection's servers turned out to accept. Internal: the
 * public face of it is {@link RepositoryContext}.
 */
export class RepositoryDriver {
  /**
   * How saves of entities without @Indexed (and with a TTL) reach these servers: one `RESTORE`
   * of a listpack payload, of a plain-hash payload (servers before Redis 7), or the save script
   * (servers that will not run RESTORE). Starts at the best and steps down on a refusal, for good.
   */
  plainSave: PlainSaveMode = 'listpack';

  /** The one key layout of @tidykv/core, under this context's prefix. */
  readonly layout: TidyKvKeys;

  constructor(
    readonly connection: RedisConnection,
    readonly options: ResolvedRepositoryOptions,
    private readonly logger: TidyKvLogger | undefined,
  ) {
    this.layout = new TidyKvKeys(options.keyPrefix, 'RepositoryModule.keyPrefix');
    for (const script of Object.values(entityScripts)) script.attach(connection.client);
  }

  get isCluster(): boolean {
    return this.connection.isCluster;
  }

  /** Runs `fn` under the connection's one deadline policy (see `RedisConnection.run`). */
  run<T>(operation: string, fn: (client: Redis | Cluster) => Promise<T>, options?: RunOptions): Promise<T> {
    return this.connection.run(operation, fn, options);
  }

  /** Records that the servers refused a RESTORE: its payload (try the next encoding) or the command (use the script). */
  stepDown(refusal: 'payload' | 'command', err: unknown): void {
    const why = err instanceof Error ? err.message : String(err);
    if (refusal === 'payload' && this.plainSave === 'listpack') {
      this.plainSave = 'hash';
      this.logger?.log(`Redis does not read listpack payloads (${why}): saves of entities without @Indexed send plain-hash payloads from now on.`);
      return;
    }
    if (this.plainSave === 'script') return;
    this.plainSave = 'script';
    this.logger?.warn(
      `Redis refused RESTORE (${why}); entities without @Indexed are saved with a script from now on, ` +
        'which costs Redis about three times as much. Allow the command (ACL +restore) to get the cheaper save back.',
    );
  }
}
