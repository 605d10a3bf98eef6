import type { Classified, InspectedKey } from './layout.js';

/** Spring Session stores the principal index under this index name. */
export const SPRING_PRINCIPAL_INDEX = 'org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME';

/** Spring Session expires an expiration bucket 5 minutes after its minute. */
const SPRING_BUCKET_GRACE_MS = 5 * 60_000;

/**
 * Spring Session's indexed repository under namespace `ns`:
 *
 * - `<ns>:expirations:<minute>` SETs of `expires:<id>`, pointing at `<ns>:sessions:expires:<id>`
 *   (checked as `<ns>:sessions:<member>`). Spring gives each bucket a TTL of its minute + 5 min and
 *   its cleanup job empties it; a bucket that still has a TTL and is not yet past that grace
 *   cleans itself, so only buckets without TTL, or past their grace, are leftovers;
 * - `<ns>:index:<index name>:<value>` SETs of session ids (the principal index);
 * - `<ns>:sessions:<id>` hashes, which are partial (an update racing a delete) without `creationTime`.
 *
 * @param now - the server's time in ms (what Spring's buckets are named after).
 */
export function classifySpringSession(k: InspectedKey, ns: string, now: number): Classified {
  const { key, type, pttl } = k;
  if (!key.startsWith(`${ns}:`)) return undefined;
  const rest = key.slice(ns.length + 1);
  const toSession = (m: string): string => `${ns}:sessions:${m}`;
  if (type === 'set' && rest.startsWith('expirations:')) {
    const minute = Number(rest.slice('expirations:'.length));
    if (pttl !== -1 && !(Number.isFinite(minute) && minute + SPRING_BUCKET_GRACE_MS < now)) return undefined;
    return { container: { kind: 'spring-session-expirations', key, type, pttl, target: toSession, scoreIsExpiry: false } };
  }
  if (type === 'set' && rest.startsWith('index:')) {
    return { container: { kind: 'spring-session-index', key, type, pttl, target: toSession, scoreIsExpiry: false } };
  }
  if (type === 'hash' && rest.startsWith('sessions:') && !rest.startsWith('sessions:expires:')) {
    return { orphanKey: { kind: 'spring-session-partial', key, type, pttl, missingField: 'creationTime', requireNoTtl: false } };
  }
  return undefined;
}
