import type { InjectionToken } from '@nestjs/common';
import type { RedisConnection } from '../redis-connection.js';

/**
 * How {@link TidyKvHealthIndicator} finds the connections of one tidykv module in a Nest app: the
 * token of the provider that holds them, resolved in the app's own container (so two apps in one
 * process never see each other's connections), and a function that lists them.
 */
export interface TidyKvConnectionSource {
  /** Name of the module, e.g. `'session'`; a later registration under the same name replaces it. */
  readonly name: string;
  /** Injection token of the provider holding the connections (looked up with `strict: false`). */
  readonly token: InjectionToken;
  /** The connections `provider` uses, each with the label the health result reports it under. */
  connections(provider: unknown): ReadonlyArray<{ readonly label: string; readonly connection: RedisConnection }>;
}

// Process-wide on purpose: it records which tidykv packages are loaded (each registers when its
// `/terminus` subpath is imported), not which connections exist; those come from each app's container.
const sources = new Map<string, TidyKvConnectionSource>();

/**
 * Registers how to find a tidykv module's connections. `@tidykv/session/terminus` and
 * `@tidykv/repository/terminus` call it when they are imported; apps do not need to.
 */
export function registerTidyKvConnectionSource(source: TidyKvConnectionSource): void {
  sources.set(source.name, source);
}

/** The registered sources, in registration order. */
export function tidyKvConnectionSources(): readonly TidyKvConnectionSource[] {
  return [...sources.values()];
}
