import { describeValue, TidyKvError, TidyKvReply, TidyKvScriptError } from '@tidykv/core';

/** Stable codes of the errors @tidykv/session raises (besides those of @tidykv/core). */
export type SessionErrorCode = 'TIDYKV_SESSION_ATTRIBUTE' | 'TIDYKV_SESSION_STATE' | 'TIDYKV_SESSION_ID_TAKEN' | 'TIDYKV_SESSION_GONE';

/** Base class of the errors specific to @tidykv/session. Branch on `code`. */
export class TidyKvSessionError extends TidyKvError {
  declare readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** An attribute name is unusable. */
  static badAttributeName(name: unknown): TidyKvSessionError {
    return new TidyKvSessionError(
      'TIDYKV_SESSION_ATTRIBUTE',
      `Invalid session attribute name ${describeValue(name)}: use a non-empty string that does not start with "#" (reserved for session metadata).`,
    );
  }

  /** `increment` on an attribute that does not hold an integer (or would overflow 64 bits). */
  static notAnInteger(name: string, cause?: unknown): TidyKvSessionError {
    return new TidyKvSessionError(
      'TIDYKV_SESSION_ATTRIBUTE',
      `Session attribute "${name}" cannot be incremented: it holds something other than an integer, or the result would overflow 64 bits. ` +
        'Use increment() only on attributes that hold integers (set them with set(name, 0) or let the first increment create them).',
      { cause },
    );
  }

  /** An `increment` argument is not a safe integer. */
  static badIncrement(name: string, by: unknown): TidyKvSessionError {
    return new TidyKvSessionError('TIDYKV_SESSION_ATTRIBUTE', `increment("${name}", by) needs a safe integer, received ${String(by)}.`);
  }

  /** The session was read before it was loaded, or used after `invalidate()`. */
  static state(message: string): TidyKvSessionError {
    return new TidyKvSessionError('TIDYKV_SESSION_STATE', message);
  }

  /**
   * The session was gone when a write that must report its result ran (a logout or an expiry won
   * the race): nothing was written and the session was not brought back.
   */
  static gone(operation: string): TidyKvSessionError {
    return new TidyKvSessionError(
      'TIDYKV_SESSION_GONE',
      `The session no longer exists (logged out or expired meanwhile), so ${operation} was not applied and the session was not recreated. Treat the user as logged out.`,
    );
  }
}

/** What a script reply means, once the shared reply codes are mapped. */
export type ScriptOutcome = 'ok' | 'gone' | 'expired' | 'stale';

/**
 * The one place where the session scripts' replies become outcomes or typed errors (codes from
 * @tidykv/core `TidyKvReply`, documented in each script's header):
 * Gone = the session no longer exists (a write is dropped, a load finds nothing);
 * Expired = its absolute timeout has elapsed (it was deleted);
 * Taken = the new id is already in use (128 random bits: a broken CSPRNG, never expected);
 * Stale = the value a compare-and-swap expected has changed (legacy migration: read it again).
 */
export function mapSessionReply(script: string, reply: unknown): ScriptOutcome {
  if (Array.isArray(reply)) return 'ok';
  if (typeof reply === 'number') {
    if (reply >= 0) return 'ok';
    switch (reply as TidyKvReply) {
      case TidyKvReply.Gone:
        return 'gone';
      case TidyKvReply.Expired:
        return 'expired';
      case TidyKvReply.Stale:
        return 'stale';
      case TidyKvReply.Taken:
        throw new TidyKvSessionError('TIDYKV_SESSION_ID_TAKEN', `Lua script ${script} found the new session id already in use; the random source is broken.`);
    }
  }
  throw new TidyKvScriptError(script, reply);
}
