import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { HttpSession } from './http-session.model.js';
import { serializeCookie } from './internal/cookie.js';
import { sessionOfRequest } from './internal/session-context.js';
import { signSessionId } from './internal/session-id.js';
import type { SessionStore } from './internal/session-store.js';
import { SESSION_STORE } from './session.constants.js';

type AnyResponse = {
  raw?: unknown;
  header?: (name: string, value: string) => unknown;
  getHeader?: (name: string) => unknown;
  setHeader?: (name: string, value: string | string[]) => unknown;
};

/**
 * Saves the session when the handler has produced its result and before Nest sends the response,
 * so the client's next request sees the writes; then puts the new id (or the cleared cookie) on
 * the response. A failed save fails the request with the typed error instead of losing writes.
 */
@Injectable()
export class SessionSaveInterceptor implements NestInterceptor {
  constructor(@Inject(SESSION_STORE) private readonly store: SessionStore) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const session = sessionOfRequest(http.getRequest());
    if (!session) return next.handle();
    const response = http.getResponse<AnyResponse>();
    // Hand-written rather than concatMap/catchError: this runs on every request, and the common
    // read-only case must cost no promise and no extra operator chain.
    return new Observable<unknown>((subscriber) => {
      let emitted = false;
      const finish = (value: unknown): void => {
        let saving: Promise<unknown> | undefined;
        try {
          saving = session.commit();
        } catch (err) {
          subscriber.error(err);
          return;
        }
        if (saving === undefined) {
          this.applyTransport(session, response);
          subscriber.next(value);
          subscriber.complete();
          return;
        }
        saving.then(
          () => {
            this.applyTransport(session, response);
            subscriber.next(value);
            subscriber.complete();
          },
          (err: unknown) => subscriber.error(err),
        );
      };
      const inner = next.handle().subscribe({
        next: (value) => {
          // Nest handlers emit once; a streaming handler's later values are not supported here.
          if (emitted) return;
          emitted = true;
          finish(value);
        },
        error: (err: unknown) => {
          // The handler failed: its pending writes are not saved, but a logout it already did must still clear the cookie.
          this.applyTransport(session, response);
          subscriber.error(err);
        },
        complete: () => {
          if (!emitted) {
            emitted = true;
            finish(undefined);
          }
        },
      });
      return () => inner.unsubscribe();
    });
  }

  private applyTransport(session: HttpSession, res: AnyResponse): void {
    const change = session.transportChange;
    if (change === undefined) return;
    session.transportChange = undefined;
    const o = this.store.options;
    const signed = change === 'set' && session.id !== undefined ? signSessionId(session.id, o.secrets) : undefined;
    if (o.transport === 'header') {
      setHeader(res, o.headerName, signed ?? '');
      return;
    }
    const cookie = serializeCookie(o.cookie, signed);
    setHeader(res, 'set-cookie', cookie, true);
  }
}

function setHeader(res: AnyResponse, name: string, value: string, append = false): void {
  if (res.raw !== undefined && typeof res.header === 'function') {
    // Fastify's reply.header appends set-cookie values by itself.
    res.header(name, value);
    return;
  }
  if (typeof res.setHeader !== 'function') return;
  const prev = append && typeof res.getHeader === 'function' ? res.getHeader(name) : undefined;
  if (prev === undefined) res.setHeader(name, value);
  else res.setHeader(name, [...(Array.isArray(prev) ? prev : [String(prev)]), value]);
}
