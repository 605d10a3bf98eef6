import { TidyKvError, TidyKvScriptError } from '@tidykv/core';

/** Stable codes of the errors @tidykv/session raises (besides those of @tidykv/core). */
export type SessionErrorCode = 'TIDYKV_SESSION_ATTRIBUTE' | 'TIDYKV_SESSION_STATE' | 'TIDYKV_SESSION_ID_TAKEN';

/** Base class of the errors specific to @tidykv/session. */
export class TidyKvSessionError extends TidyKvError {
  declare readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** An attribute name is unusable. */
  static badAttributeName(name: unknown): TidyKvSessionError {
    return new TidyKvSessionError(
      'TIDYKV_SESSION_ATTRIBUTE',
      `Invalid session attribute name ${JSON.stringify(name)}: use a non-empty string that does not start with "#" (reserved for session metadata).`,
    );
  }

  /** The session was read before it was loaded, or used after `invalidate()`. */
  static state(message: string): TidyKvSessionError {
    return new TidyKvSessionError('TIDYKV_SESSION_STATE', message);
  }
}

/** What a script reply means, once negative codes are mapped. */
export type ScriptOutcome = 'ok' | 'gone' | 'expired';

/**
 * The one place where negative Lua replies become outcomes or typed errors:
 * -1 = the session no longer exists (a write is dropped, a load finds nothing);
 * -2 = the new id is already taken (128 random bits: a CSPRNG failure, never expected);
 * -3 = the absolute timeout has elapsed.
 */
export function mapScriptReply(script: string, reply: unknown): ScriptOutcome {
  if (Array.isArray(reply)) return 'ok';
  if (typeof reply === 'number') {
    if (reply >= 0) return 'ok';
    if (reply === -1) return 'gone';
    if (reply === -3) return 'expired';
    if (reply === -2) {
      throw new TidyKvSessionError('TIDYKV_SESSION_ID_TAKEN', `Lua script ${script} found the new session id already in use; the random source is broken.`);
    }
  }
  throw new TidyKvScriptError(script, reply);
}
