import { LuaScriptSet, TidyKvScriptError } from '@tidykv/core';
import * as sources from '../lua/scripts.generated.js';

/** Names of the scripts in src/lua. */
export type AuditScript = 'removeDeadMember' | 'removeExpiredMembers' | 'unlinkPartialHash' | 'unlinkIfTargetMissing';

/** The fix scripts, compiled from src/lua at build time. */
export const auditScripts = new LuaScriptSet<AuditScript>(sources, 'audit');

/** What a fix script did to one key or member. */
export type ScriptOutcome = 'done' | 'kept' | 'gone' | 'wrong-type';

/**
 * The one place where script replies (including the negative codes documented in each script's
 * header) become outcomes; a reply no script documents is a bug or a mismatched script version
 * and raises `TidyKvScriptError`.
 */
export function scriptOutcome(script: AuditScript, reply: unknown): ScriptOutcome {
  switch (reply) {
    case 1:
      return 'done';
    case 0:
      return 'kept';
    case -1:
      return 'gone';
    case -2:
      if (script !== 'unlinkIfTargetMissing') return 'wrong-type';
      break;
  }
  throw new TidyKvScriptError(script, reply);
}
