import { AsyncLocalStorage } from 'node:async_hooks';
import type { HttpSession } from '../http-session.model.js';
import { SESSION_REQUEST_KEY } from '../session.constants.js';

/** The request's session for code that has no request object (guards, services): no request-scoped providers. */
export const sessionStorage = new AsyncLocalStorage<HttpSession>();

type WithSession = { [SESSION_REQUEST_KEY]?: HttpSession; raw?: WithSession };

/** The session the middleware attached to a request (Express request, or Fastify request via `.raw`). */
export function sessionOfRequest(req: unknown): HttpSession | undefined {
  const r = req as WithSession | undefined;
  return r?.[SESSION_REQUEST_KEY] ?? r?.raw?.[SESSION_REQUEST_KEY];
}
