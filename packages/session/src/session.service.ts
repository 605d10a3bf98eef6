import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { SessionAccessor } from './session-accessor.service.js';
import { TidyKvConfigError } from '@tidykv/core';
import { isSessionId } from './internal/session-id.js';
import type { SessionStore } from './internal/session-store.js';
import { SESSION_STORE } from './session.constants.js';

/** A live session of a principal, as listed by {@link SessionService.listByPrincipal}. */
export interface PrincipalSession {
  /** The session id (not signed). */
  readonly id: string;
  /** When it expires unless used again, epoch ms. */
  readonly expiresAt: number;
}

/**
 * Operations on sessions other than the current one (principal index), and the lifecycle of the
 * Redis connection: in-flight saves finish before it closes.
 */
@Injectable()
export class SessionService implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    private readonly modules: ModulesContainer,
  ) {}

  /** @internal With `asyncContext: 'auto'`, turns AsyncLocalStorage on only if something injects SessionAccessor. */
  onModuleInit(): void {
    if (this.store.options.asyncContext === 'auto') this.store.asyncContextActive = this.accessorInjected();
  }

  private accessorInjected(): boolean {
    // Every instance is resolved before onModuleInit, so each wrapper knows what it received.
    type Wrapper = { getCtorMetadata?(): ({ token?: unknown } | undefined)[] | undefined; getPropertiesMetadata?(): ({ wrapper?: { token?: unknown } } | undefined)[] | undefined };
    for (const mod of this.modules.values()) {
      for (const map of [mod.providers, mod.controllers, mod.injectables] as Map<unknown, Wrapper>[]) {
        for (const w of map.values()) {
          if (w.getCtorMetadata?.()?.some((d) => d?.token === SessionAccessor)) return true;
          if (w.getPropertiesMetadata?.()?.some((p) => p?.wrapper?.token === SessionAccessor)) return true;
        }
      }
    }
    return false;
  }

  /** @internal */
  async onApplicationBootstrap(): Promise<void> {
    await this.store.start();
  }

  /** Lists the live sessions of `principal` (the value of the `principal` attribute). Requires the `principal` option. */
  listByPrincipal(principal: unknown): Promise<PrincipalSession[]> {
    this.requirePrincipal('listByPrincipal');
    return this.store.listByPrincipal(principal);
  }

  /** Invalidates every session of `principal` ("log out everywhere"); returns how many there were. */
  invalidateByPrincipal(principal: unknown): Promise<number> {
    this.requirePrincipal('invalidateByPrincipal');
    return this.store.invalidateByPrincipal(principal);
  }

  /** Invalidates one session by its (unsigned) id, as listed by {@link listByPrincipal}. True if it existed. */
  async invalidate(id: string): Promise<boolean> {
    // A malformed id cannot name a session; refusing it here keeps odd strings out of key names.
    if (!isSessionId(id)) return false;
    return this.store.destroy(id);
  }

  private requirePrincipal(op: string): void {
    if (this.store.options.principal === undefined) {
      throw TidyKvConfigError.invalid('SessionModule.principal', undefined, `an attribute name to use SessionService.${op}`, 'Pass e.g. principal: "userId" to SessionModule.forRoot.');
    }
  }

  /** @internal Requests still being answered may be saving: let them finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.store.drain();
  }

  /** @internal */
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
