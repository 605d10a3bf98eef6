import { TidyKvConfigError, validateConnectionOptions, validateKeyPrefix, type RedisConnectionOptions } from '@tidykv/core';

/** Options of `RepositoryModule.forRoot` / `forRootAsync` and of {@link RepositoryContext.create}. */
export interface RepositoryModuleOptions {
  /**
   * The Redis to store entities in, described as in @tidykv/core: `{ url }`, `{ host, port }`,
   * `{ sentinels, name }`, `{ cluster: { nodes } }` or `{ client }` (an app-owned ioredis client,
   * never closed by tidykv). Required.
   */
  connection: RedisConnectionOptions;
  /**
   * Prefix of every key this module writes, from `[A-Za-z0-9_.:-]`, at most 64 characters.
   * Default: `"tkv:"`.
   */
  keyPrefix?: string;
  /**
   * How many times a write retries when the entity's indexed values changed between the moment
   * it named their index keys and the moment it ran (see the README, "Consistency"). Default: 5.
   */
  maxConflictRetries?: number;
}

/** The defaults of {@link RepositoryModuleOptions}. */
export const DEFAULT_REPOSITORY_OPTIONS = Object.freeze({
  keyPrefix: 'tkv:',
  maxConflictRetries: 5,
});

/** {@link RepositoryModuleOptions} with every default applied. */
export interface ResolvedRepositoryOptions {
  readonly connection: RedisConnectionOptions;
  readonly keyPrefix: string;
  readonly maxConflictRetries: number;
}

/**
 * Validates options at start-up and applies defaults; throws {@link TidyKvConfigError} naming the
 * option, the value received, what was expected and how to fix it.
 */
export function validateRepositoryOptions(options: unknown, path = 'RepositoryModule'): ResolvedRepositoryOptions {
  if (options === null || typeof options !== 'object') {
    throw TidyKvConfigError.invalid(path, options, 'an object with at least `connection`', 'Pass e.g. { connection: { url: "redis://localhost:6379" } }.');
  }
  const o = options as Partial<RepositoryModuleOptions>;
  const connection = validateConnectionOptions(o.connection, `${path}.connection`);
  const keyPrefix = validateKeyPrefix(o.keyPrefix ?? DEFAULT_REPOSITORY_OPTIONS.keyPrefix, `${path}.keyPrefix`);
  const retries = o.maxConflictRetries ?? DEFAULT_REPOSITORY_OPTIONS.maxConflictRetries;
  if (!Number.isInteger(retries) || retries < 1 || retries > 100) {
    throw TidyKvConfigError.invalid(`${path}.maxConflictRetries`, retries, 'an integer from 1 to 100', 'Omit it to use 5.');
  }
  return { connection, keyPrefix, maxConflictRetries: retries };
}
