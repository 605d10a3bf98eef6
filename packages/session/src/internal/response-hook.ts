import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RedisUnavailableError } from '@tidykv/core';
import type { HttpSession } from '../http-session.model.js';
import { serializeCookie } from './cookie.js';
import { signSessionId } from './session-id.js';
import type { SessionStore } from './session-store.js';

type Method = 'writeHead' | 'write' | 'end';
interface Call {
  readonly method: Method;
  readonly args: unknown[];
}
type Fn = (...args: unknown[]) => unknown;

const logger = new Logger('SessionModule');

/**
 * Saves the session when the response starts (its first writeHead, write or end, which every
 * platform and every way of answering goes through) and holds the response until the save is
 * done, so the client's next request sees the writes. Why not a Nest interceptor: a global
 * interceptor puts every route through rxjs and costs about 20% of a bare app's throughput; this
 * costs three closures, and nothing more when the session has nothing to save.
 *
 * A response with status >= 500 discards the handler's pending writes (a failed request must not
 * half-save); a logout already done still clears the cookie.
 */
export function saveBeforeResponse(req: IncomingMessage, res: ServerResponse, session: HttpSession, store: SessionStore): void {
  const original: Record<Method, Fn> = { writeHead: res.writeHead as Fn, write: res.write as Fn, end: res.end as Fn };
  const target = res as unknown as Record<Method, Fn>;
  const restore = (): void => {
    target.writeHead = original.writeHead;
    target.write = original.write;
    target.end = original.end;
  };
  const run = (calls: Call[]): void => {
    applyTransport(res, session, store, calls.find((c) => c.method === 'writeHead')?.args);
    for (const c of calls) original[c.method].apply(res, c.args);
  };
  const start = (first: Call): unknown => {
    restore();
    if (res.statusCode >= 500) session.discardPending();
    const saving = session.commit();
    if (saving === undefined) {
      run([first]);
      return first.method === 'write' ? true : res;
    }
    const held: Call[] = [first];
    target.writeHead = (...args) => (held.push({ method: 'writeHead', args }), res);
    target.write = (...args) => (held.push({ method: 'write', args }), true);
    target.end = (...args) => (held.push({ method: 'end', args }), res);
    saving.then(
      () => {
        restore();
        run(held);
      },
      (err: unknown) => {
        restore();
        fail(req, res, err, original.end);
      },
    );
    return first.method === 'write' ? true : res;
  };
  target.writeHead = (...args) => start({ method: 'writeHead', args });
  target.write = (...args) => start({ method: 'write', args });
  target.end = (...args) => start({ method: 'end', args });
}

/** Sets the cookie (or header) carrying a new id, or clearing it, before the head is written. */
function applyTransport(res: ServerResponse, session: HttpSession, store: SessionStore, writeHeadArgs: unknown[] | undefined): void {
  const change = session.transportChange;
  if (change === undefined) return;
  session.transportChange = undefined;
  const o = store.options;
  const signed = change === 'set' && session.id !== undefined ? signSessionId(session.id, o.secrets) : undefined;
  const [name, value] = o.transport === 'header' ? [o.headerName, signed ?? ''] : ['set-cookie', serializeCookie(o.cookie, signed)];
  // Fastify passes every header to writeHead; those override setHeader, so add ours there too.
  const headers = writeHeadArgs?.find((a, i) => i > 0 && a !== null && typeof a === 'object' && !Array.isArray(a)) as Record<string, unknown> | undefined;
  const existing = headers ? findHeader(headers, name) : undefined;
  if (headers && existing !== undefined) {
    headers[existing] = name === 'set-cookie' ? [...toArray(headers[existing]), value] : value;
    return;
  }
  if (name === 'set-cookie') {
    const prev = res.getHeader('set-cookie');
    res.setHeader('set-cookie', prev === undefined ? value : [...toArray(prev), value]);
  } else res.setHeader(name, value);
}

function findHeader(headers: Record<string, unknown>, name: string): string | undefined {
  return Object.keys(headers).find((k) => k.toLowerCase() === name);
}

function toArray(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [String(v)];
}

/**
 * The end-of-request save failed, so the handler's answer cannot be sent as if its writes were
 * kept: answer 503 for an outage (500 otherwise) with the stable error code, and log it.
 */
function fail(req: IncomingMessage, res: ServerResponse, err: unknown, end: Fn): void {
  const status = err instanceof RedisUnavailableError ? 503 : 500;
  logger.error(`Session save failed for ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  for (const h of res.getHeaderNames()) res.removeHeader(h);
  const code = (err as { code?: unknown })?.code;
  const body = JSON.stringify({
    statusCode: status,
    code: typeof code === 'string' ? code : 'TIDYKV_ERROR',
    message: status === 503 ? 'The session store is unavailable; retry shortly.' : 'The session could not be saved.',
  });
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  end.call(res, body);
}
