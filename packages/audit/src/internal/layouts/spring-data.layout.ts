import { patternOf } from '../../key-pattern.classifier.js';
import type { Classified, InspectedKey } from './layout.js';

function parentOf(key: string): string | undefined {
  const i = key.lastIndexOf(':');
  return i > 0 ? key.slice(0, i) : undefined;
}

/**
 * The keyspace an `:idx` SET or `:phantom` hash names (`persons:42:idx` -> `persons`), for the
 * discovery pass; undefined for any other key.
 */
export function keyspaceOfHelperKey(key: string): string | undefined {
  const base = key.endsWith(':idx') ? key.slice(0, -4) : key.endsWith(':phantom') ? key.slice(0, -8) : undefined;
  return base === undefined ? undefined : parentOf(base);
}

/** The keyspace `key` belongs to (longest known prefix), if any. */
export function keyspaceOf(key: string, keyspaces: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const ks of keyspaces) {
    if (key.length > ks.length + 1 && key.startsWith(ks) && key[ks.length] === ':' && (best === undefined || ks.length > best.length)) best = ks;
  }
  return best;
}

/** What the Spring Data classifier knows: the keyspaces found so far, and whether to look for more. */
export interface SpringDataContext {
  keyspaces: ReadonlySet<string>;
  detect: boolean;
}

/**
 * Spring Data Redis repositories (`@RedisHash("persons")`):
 *
 * - the keyspace SET `persons` of ids, pointing at the entity hashes `persons:<id>`;
 * - `@Indexed` SETs `persons:<field>:<value>` of ids;
 * - `persons:<id>:idx` SETs naming the index sets an entity is in: an orphan once `persons:<id>` is gone;
 * - `persons:<id>:phantom` hashes without TTL (Spring gives a phantom the entity TTL + 5 min): an
 *   orphan once `persons:<id>` is gone.
 *
 * A literally named SET of an unknown keyspace (`refresh`, not `tags:42`) is a candidate keyspace
 * set; the engine decides by checking its members (see OrphanEngine).
 */
export function classifySpringData(k: InspectedKey, ctx: SpringDataContext): Classified {
  const { key, type, pttl } = k;
  if (type === 'set' && ctx.keyspaces.has(key)) {
    return { container: { kind: 'spring-data-keyspace', key, type, pttl, target: (m) => `${key}:${m}`, scoreIsExpiry: false } };
  }
  const ks = keyspaceOf(key, ctx.keyspaces);
  if (ks !== undefined) {
    if (type === 'set' && key.endsWith(':idx')) {
      // `persons:lastname:idx` could also be the index set of lastname "idx": memberPrefix tells them apart.
      return { orphanKey: { kind: 'spring-data-idx', key, type, pttl, dependsOn: key.slice(0, -4), requireNoTtl: false, memberPrefix: `${ks}:` } };
    }
    if (type === 'hash' && key.endsWith(':phantom')) {
      return { orphanKey: { kind: 'spring-data-phantom', key, type, pttl, dependsOn: key.slice(0, -8), requireNoTtl: true } };
    }
    if (type === 'set' && key.slice(ks.length + 1).includes(':')) {
      return { container: { kind: 'spring-data-index', key, type, pttl, target: (m) => `${ks}:${m}`, scoreIsExpiry: false } };
    }
    return undefined;
  }
  // Keyspace names are literal (`persons`, `com.example.Person`); a set named like `tags:42` is
  // one of many and would cost a check each, so only literally named sets are candidates.
  if (type === 'set' && ctx.detect && !patternOf(key).includes('<')) return { candidateKeyspace: k };
  return undefined;
}
