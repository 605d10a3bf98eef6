import type { ChainableCommander, Redis } from 'ioredis';
import { inspectKeys } from '../lua/scripts.generated.js';

// Sent by hand rather than through defineCommand: the script must go out as EVALSHA_RO / EVAL_RO
// (read-only by contract, so replicas and read-only ACL users run it), which defineCommand cannot send.
const SOURCE = inspectKeys.lua;
const SHA = inspectKeys.sha1;

/**
 * True when `client` accepts EVAL_RO (Redis >= 7.0). The scanner then asks for TYPE and PTTL of a
 * whole batch in one script call, which costs the client a fraction of 2 commands per key.
 */
export async function supportsReadOnlyScripts(client: Redis): Promise<boolean> {
  const info = await client.info('server');
  const major = Number(/redis_version:(\d+)/.exec(info)?.[1] ?? 0);
  return major >= 7;
}

/** Queues the inspection of `keys` on a pipeline; `cached` false sends the source (after NOSCRIPT). */
export function queueInspect(p: ChainableCommander, keys: string[], cached: boolean): void {
  if (cached) p.call('EVALSHA_RO', SHA, keys.length, ...keys);
  else p.call('EVAL_RO', SOURCE, keys.length, ...keys);
}

/** True for the reply error that means the server has not seen the script yet (restart, SCRIPT FLUSH, new replica). */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}
