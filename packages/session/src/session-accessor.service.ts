import { Injectable } from '@nestjs/common';
import type { HttpSession } from './http-session.model.js';
import { sessionStorage } from './internal/session-context.js';
import { TidyKvSessionError } from './session.errors.js';

/**
 * The current request's session for guards, interceptors and services, backed by
 * AsyncLocalStorage: a singleton, so nothing becomes request-scoped.
 */
@Injectable()
export class SessionAccessor {
  /** The current session (maybe not loaded yet), or undefined outside a request. */
  get current(): HttpSession | undefined {
    return sessionStorage.getStore();
  }

  /** The current session, loaded (one Redis command at most per request). Throws outside a request. */
  async load(): Promise<HttpSession> {
    const s = sessionStorage.getStore();
    if (!s) {
      throw TidyKvSessionError.state(
        'No session in this context: SessionAccessor works inside HTTP requests that pass through the session middleware (inside cookie.path), with SessionModule option asyncContext on (the default).',
      );
    }
    return s.load();
  }
}
