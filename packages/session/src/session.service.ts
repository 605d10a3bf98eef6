import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { TidyKvConfigError } from '@tidykv/core';
import { isSessionId } from './internal/session-id.js';
import type { SessionRuntime } from './internal/session-runtime.js';
import type { RedisSessionRepository } from './internal/redis-session.repository.js';
import type { PrincipalEntry } from './internal/session-repository.js';
import { SESSION_RUNTIME } from './session.constants.js';

/** A live session of a principal, as listed by {@link SessionService.listByPrincipal}. */
export type PrincipalSession = PrincipalEntry;

/**
 * Operations on sessions other than the current one (principal index), and the lifecycle of the
 * Redis connection: in-flight saves finish before it closes.
 */
@Injectable()
export class SessionService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('SessionModule');

  constructor(@Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime) {}

  private get repository(): RedisSessionRepository {
    return this.runtime.repository as RedisSessionRepository;
  }

  /** @internal */
  async onApplicationBootstrap(): Promise<void> {
    await this.repository.start();
  }

  /** Lists the live sessions of `principal` (the value of the `principal` attribute). Requires the `principal` option. */
  listByPrincipal(principal: unknown): Promise<PrincipalSession[]> {
    this.requirePrincipal('listByPrincipal');
    return this.repository.listByPrincipal(this.runtime.options.codec.encode(principal));
  }

  /**
   * Invalidates every session of `principal` ("log out everywhere") and returns how many there
   * were. A login racing this call may add a session after the listing, so it lists again until
   * the index is empty (at most five rounds).
   */
  async invalidateByPrincipal(principal: unknown): Promise<number> {
    this.requirePrincipal('invalidateByPrincipal');
    const raw = this.runtime.options.codec.encode(principal);
    let total = 0;
    for (let round = 0; round < 5; round++) {
      const live = await this.repository.listByPrincipal(raw);
      if (live.length === 0) break;
      const deleted = await Promise.all(live.map((s) => this.invalidate(s.id)));
      total += deleted.filter(Boolean).length;
    }
    return total;
  }

  /** Invalidates one session by its (unsigned) id, as listed by {@link listByPrincipal}. True if it existed. */
  async invalidate(id: string): Promise<boolean> {
    // A malformed id cannot name a session; refusing it here keeps odd strings out of key names.
    if (!isSessionId(id)) return false;
    this.runtime.lazy.take(id);
    return this.repository.destroy(id);
  }

  private requirePrincipal(op: string): void {
    if (this.runtime.options.principal === undefined) {
      throw TidyKvConfigError.invalid('SessionModule.principal', undefined, `an attribute name to use SessionService.${op}`, 'Pass e.g. principal: "userId" to SessionModule.forRoot.');
    }
  }

  /** @internal Requests still being answered may be saving: let them finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.repository.drain();
  }

  /** @internal Flushes buffered lazy attributes, then closes what tidykv opened. */
  async onApplicationShutdown(): Promise<void> {
    const buffered = this.runtime.lazy.drain();
    const results = await Promise.allSettled(buffered.map(([session, delta]) => this.repository.save(session, delta)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) this.logger.warn(`${failed} buffered lazy session attribute writes could not be flushed at shutdown.`);
    await this.repository.close();
  }
}
