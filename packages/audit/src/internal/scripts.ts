import { LuaScriptSet, TidyKvScriptError } from '@tidykv/core';

/** Names of the scripts in src/lua. */
export type AuditScript = 'removeDeadMember' | 'removeExpiredMembers' | 'unlinkPartialHash' | 'unlinkIfTargetMissing';

// From src/internal and dist/internal alike, ../../src/lua/ is the package's src/lua folder.
export const auditScripts = new LuaScriptSet<AuditScript>(new URL('../../src/lua/', import.meta.url), 'audit');

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
