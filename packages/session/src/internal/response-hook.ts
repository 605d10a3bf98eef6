import { Logger } from '@nestjs/common';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { isRedisFailure, tidykvMetrics } from '@tidykv/core';
import type { HttpSession } from '../http-session.model.js';
import { serializeSessionCookie } from './cookie-transport.js';
import { signSessionId } from './session-id.js';
import type { SessionRuntime } from './session-runtime.js';

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
export function saveBeforeResponse(req: IncomingMessage, res: ServerResponse, session: HttpSession, runtime: SessionRuntime): void {
  // Kept unbound on purpose: they are put back as they were, and always called with apply(res).
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original: Record<Method, Fn> = { writeHead: res.writeHead as Fn, write: res.write as Fn, end: res.end as Fn };
  const target = res as unknown as Record<Method, Fn>;
  const restore = (): void => {
    target.writeHead = original.writeHead;
    target.write = original.write;
    target.end = original.end;
  };
  const run = (calls: Call[]): void => {
    applyTransport(res, session, runtime, headersOf(calls));
    for (const c of calls) original[c.method].apply(res, c.args);
  };
  const start = (first: Call): unknown => {
    restore();
    if (res.statusCode >= 500) session.discardPending();
    const saving = session.commit();
    if (saving === undefined) {
      tidykvMetrics().commandsPerRequest.record(session.operations);
      run([first]);
      return first.method === 'write' ? true : res;
    }
    const held: Call[] = [first];
    target.writeHead = (...args) => (held.push({ method: 'writeHead', args }), res);
    target.write = (...args) => (held.push({ method: 'write', args }), true);
    target.end = (...args) => (held.push({ method: 'end', args }), res);
    saving.then(
      (outcome) => {
        record(session, outcome.status);
        restore();
        run(held);
      },
      (err: unknown) => {
        record(session, failureOutcome(err));
        restore();
        fail(req, res, err, original.end, headersOf(held), runtime);
      },
    );
    return first.method === 'write' ? true : res;
  };
  target.writeHead = (...args) => start({ method: 'writeHead', args });
  target.write = (...args) => start({ method: 'write', args });
  target.end = (...args) => start({ method: 'end', args });
}

const SAVE_OUTCOMES = new Set(['saved', 'created', 'regenerated', 'dropped']);

function record(session: HttpSession, outcome: string): void {
  const m = tidykvMetrics();
  m.commandsPerRequest.record(session.operations);
  if (SAVE_OUTCOMES.has(outcome) || outcome === 'unknown' || outcome === 'unavailable' || outcome === 'failed') m.sessionSaves.add(1, { outcome });
}

function failureOutcome(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return code === 'TIDYKV_OUTCOME_UNKNOWN' ? 'unknown' : code === 'TIDYKV_UNAVAILABLE' ? 'unavailable' : 'failed';
}

/** The header object a held writeHead carries (Fastify passes every header there, not to setHeader). */
function headersOf(calls: readonly Call[]): Record<string, unknown> | undefined {
  const args = calls.find((c) => c.method === 'writeHead')?.args;
  return args?.find((a, i) => i > 0 && a !== null && typeof a === 'object' && !Array.isArray(a)) as Record<string, unknown> | undefined;
}

/** Sets the cookie (or header) carrying a new id, the same id with a new expiry, or clearing it. */
function applyTransport(res: ServerResponse, session: HttpSession, runtime: SessionRuntime, headers: Record<string, unknown> | undefined): void {
  const change = session.transportChange;
  if (change === undefined) return;
  session.transportChange = undefined;
  const o = runtime.options;
  const signed = change !== 'clear' && session.id !== undefined ? signSessionId(session.id, o.secrets) : undefined;
  if (o.transport === 'header' && change === 'refresh') return;
  const [name, value] = o.transport === 'header' ? [o.headerName, signed ?? ''] : ['set-cookie', serializeSessionCookie(o.cookie, signed)];
  // Headers given to writeHead override setHeader, so add ours there when there are some.
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

// Headers that describe the handler's body, which the failure answer replaces.
const BODY_HEADERS = new Set(['content-length', 'content-type', 'content-encoding', 'content-range', 'etag', 'last-modified', 'transfer-encoding']);

/**
 * The end-of-request save failed, so the handler's answer cannot be sent as if its writes were
 * kept: answer 503 when Redis could not be used (with the error's stable code, so a client can
 * tell TIDYKV_UNAVAILABLE "nothing was applied" from TIDYKV_OUTCOME_UNKNOWN), 500 otherwise. The
 * app's own headers (CORS included) stay, so a browser sees the 503; only the session cookie or
 * header and the old body's headers go.
 */
function fail(req: IncomingMessage, res: ServerResponse, err: unknown, end: Fn, held: Record<string, unknown> | undefined, runtime: SessionRuntime): void {
  const status = isRedisFailure(err) ? 503 : 500;
  // A Redis failure is an outage, which the connection logs once when it starts and once when it
  // ends; a line per failed request would bury that (issue 10). Anything else is a bug: log it.
  if (status === 500) logger.error(`Session save failed for ${req.method} ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  const o = runtime.options;
  for (const [k, v] of Object.entries(held ?? {})) if (v !== undefined) res.setHeader(k, v as OutgoingHttpHeaders[string] & {});
  for (const h of res.getHeaderNames()) if (BODY_HEADERS.has(h)) res.removeHeader(h);
  if (o.transport === 'header') res.removeHeader(o.headerName);
  else {
    const cookies = toArray(res.getHeader('set-cookie') ?? []).filter((c) => !c.startsWith(`${o.cookie.name}=`));
    if (cookies.length > 0) res.setHeader('set-cookie', cookies);
    else res.removeHeader('set-cookie');
  }
  const code = (err as { code?: unknown })?.code;
  const body = JSON.stringify({
    statusCode: status,
    code: typeof code === 'string' ? code : 'TIDYKV_ERROR',
    message:
      status === 503
        ? code === 'TIDYKV_OUTCOME_UNKNOWN'
          ? 'The session store did not confirm the write; it may or may not have been applied.'
          : 'The session store is unavailable and nothing was saved; retry shortly.'
        : 'The session could not be saved.',
  });
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  end.call(res, body);
}
