import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpSession } from './http-session.model.js';
import { readCookie } from './internal/cookie.js';
import { saveBeforeResponse } from './internal/response-hook.js';
import { sessionStorage } from './internal/session-context.js';
import { unsignSessionId } from './internal/session-id.js';
import type { SessionStore } from './internal/session-store.js';
import { SESSION_REQUEST_KEY, SESSION_STORE } from './session.constants.js';

/**
 * Runs first on every route: reads and verifies the signed id (no Redis call), attaches a lazy
 * {@link HttpSession} to the request, arranges for the session to be saved before the response is
 * sent, and opens the AsyncLocalStorage scope that `SessionAccessor` reads (when on). Works on
 * Express and on Fastify (Nest mounts middleware there too, on the raw Node request).
 */
@Injectable()
export class SessionMiddleware implements NestMiddleware {
  constructor(@Inject(SESSION_STORE) private readonly store: SessionStore) {}

  use(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    const o = this.store.options;
    const signed = o.transport === 'cookie' ? readCookie(req.headers.cookie, o.cookie.name) : req.headers[o.headerName];
    const id = unsignSessionId(Array.isArray(signed) ? signed[0] : signed, o.secrets);
    const session = new HttpSession(this.store, id);
    (req as unknown as Record<symbol, unknown>)[SESSION_REQUEST_KEY] = session;
    saveBeforeResponse(req, res, session, this.store);
    if (this.store.asyncContextActive) sessionStorage.run(session, next);
    else next();
  }
}
