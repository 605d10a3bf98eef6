import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpSession } from './http-session.model.js';
import { pathMatches, readCookie, requestIsSecure, requestPath } from './internal/cookie-transport.js';
import { saveBeforeResponse } from './internal/response-hook.js';
import { sessionStorage } from './internal/session-context.js';
import { unsignSessionId } from './internal/session-id.js';
import type { SessionRuntime } from './internal/session-runtime.js';
import { SESSION_REQUEST_KEY, SESSION_RUNTIME } from './session.constants.js';

/**
 * Runs first on every route: reads and verifies the signed id (no Redis call), attaches a lazy
 * {@link HttpSession} to the request, arranges for the session to be saved before the response is
 * sent, and opens the AsyncLocalStorage scope that `SessionAccessor` reads (when on). Works on
 * Express and on Fastify (Nest mounts middleware there too, on the raw Node request).
 *
 * As in express-session, a request outside `cookie.path` gets no session (a cookie set there would
 * never come back), and a Secure cookie is not set on a request that did not arrive over HTTPS.
 */
@Injectable()
export class SessionMiddleware implements NestMiddleware {
  constructor(@Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime) {}

  use(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    const o = this.runtime.options;
    const cookie = o.transport === 'cookie';
    if (cookie && o.cookie.path !== '/' && !pathMatches(o.cookie.path, requestPath(req))) {
      next();
      return;
    }
    const signed = cookie ? readCookie(req.headers.cookie, o.cookie.name) : req.headers[o.headerName];
    const id = unsignSessionId(Array.isArray(signed) ? signed[0] : signed, o.secrets);
    const deliverable = !cookie || !o.cookie.secure || requestIsSecure(req, o.proxy);
    // legacy: without a tidykv id, a validly signed express-session cookie names a session to migrate (no Redis call here).
    const legacySid = id === undefined ? this.runtime.legacy?.sidOf(req.headers.cookie) : undefined;
    const session = new HttpSession(this.runtime, id, deliverable, legacySid);
    (req as unknown as Record<symbol, unknown>)[SESSION_REQUEST_KEY] = session;
    saveBeforeResponse(req, res, session, this.runtime);
    if (o.asyncContext) sessionStorage.run(session, next);
    else next();
  }
}
