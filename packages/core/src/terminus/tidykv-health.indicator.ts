import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { Cluster, Redis } from 'ioredis';
import type { RedisConnection } from '../redis-connection.js';
import { TidyKvConfigError } from '../tidykv.errors.js';
import { tidyKvConnectionSources } from './connection-source.registry.js';

/** Options of {@link TidyKvHealthIndicator.pingCheck}. */
export interface TidyKvPingCheckOptions {
  /**
   * How long every connection may take to answer PING, in ms, from the call; a connection that has
   * not answered by then is reported down. Keep it below the probe timeout of your orchestrator.
   * Default: `1000`.
   */
  timeoutMs?: number;
}

/** Defaults of {@link TidyKvPingCheckOptions}. */
export const DEFAULT_TIDYKV_PING_CHECK_OPTIONS = Object.freeze({ timeoutMs: 1000 });

/** What the health result says about one connection. */
export interface TidyKvConnectionHealth {
  /** `up` when every node answered PING within the deadline. */
  readonly status: 'up' | 'down';
  /** Which modules use this connection (one entry when the modules share a client). */
  readonly usedBy: readonly string[];
  /** Time until the last node answered, ms (when up). */
  readonly latencyMs?: number;
  /** Why it is down: the error's stable code when it has one, else its message. */
  readonly error?: string;
}

interface Found {
  readonly connection: RedisConnection;
  readonly usedBy: string[];
}

/**
 * A @nestjs/terminus health indicator that PINGs every connection the app's tidykv modules use
 * (SessionModule, RepositoryModule; on Cluster every master), under one deadline, and reports each.
 *
 * It finds them in the app's own Nest container: each tidykv package's `/terminus` subpath
 * registers the provider that holds its connections, and the indicator resolves those providers
 * through `ModuleRef` (`strict: false`) at each check. Import the indicator from the subpath of the
 * package(s) your app uses (`@tidykv/session/terminus`, `@tidykv/repository/terminus`); an app
 * using both imports both, so that each registers. Modules sharing one client are pinged once.
 *
 * ```ts
 * @Module({ imports: [TerminusModule], providers: [TidyKvHealthIndicator], controllers: [HealthController] })
 * // in HealthController:
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.tidykv.pingCheck('redis')]); }
 * ```
 */
@Injectable()
export class TidyKvHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * PINGs each connection and reports `up` with every connection's latency, or `down` (which
   * makes terminus answer 503) when any connection did not answer within `timeoutMs`, or when the
   * app has no tidykv connection to check (a wiring mistake that must not pass as healthy).
   */
  async pingCheck<const Key extends string = 'tidykv'>(key: Key = 'tidykv' as Key, options: TidyKvPingCheckOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIDYKV_PING_CHECK_OPTIONS.timeoutMs;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw TidyKvConfigError.invalid('TidyKvHealthIndicator.pingCheck.timeoutMs', timeoutMs, 'a positive number of milliseconds');
    }
    const session = this.indicators.check(key);
    const found = this.connections();
    if (found.length === 0) {
      return session.down({
        message:
          'No tidykv connection found in this app: register SessionModule or RepositoryModule, and import TidyKvHealthIndicator from @tidykv/session/terminus or @tidykv/repository/terminus.',
      });
    }
    const results = await Promise.all(found.map((f) => ping(f, timeoutMs)));
    const connections: Record<string, TidyKvConnectionHealth> = {};
    for (const r of results) connections[r.usedBy.join('+')] = r;
    return results.every((r) => r.status === 'up') ? session.up({ connections }) : session.down({ connections });
  }

  /** The connections this app's tidykv modules use, one entry per distinct client. */
  private connections(): Found[] {
    const byClient = new Map<unknown, Found>();
    for (const source of tidyKvConnectionSources()) {
      let provider: unknown;
      try {
        provider = this.moduleRef.get(source.token, { strict: false });
      } catch {
        continue; // this app does not use that module
      }
      for (const { label, connection } of source.connections(provider)) {
        const seen = byClient.get(connection.client);
        if (seen) seen.usedBy.push(label);
        else byClient.set(connection.client, { connection, usedBy: [label] });
      }
    }
    return [...byClient.values()];
  }
}

async function ping(found: Found, timeoutMs: number): Promise<TidyKvConnectionHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no PONG within ${timeoutMs} ms`)), timeoutMs);
  });
  // Through run(), like every tidykv command: it waits for the connection instead of letting
  // ioredis queue the PING, and fails typed when the connection's own deadline passes first.
  const pinged = found.connection.run('health check', (client) => pingAll(client));
  pinged.catch(() => undefined); // settles after the deadline when it loses the race
  try {
    await Promise.race([pinged, deadline]);
    return { status: 'up', usedBy: found.usedBy, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    return { status: 'down', usedBy: found.usedBy, error: typeof code === 'string' ? code : err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** PING on a standalone or Sentinel connection; on Cluster, on every master, which all must answer. */
async function pingAll(client: Redis | Cluster): Promise<void> {
  if (!client.isCluster) {
    await (client as Redis).ping();
    return;
  }
  const masters = (client as Cluster).nodes('master');
  if (masters.length === 0) throw new Error('the cluster has no known master');
  await Promise.all(masters.map((n) => n.ping()));
}
