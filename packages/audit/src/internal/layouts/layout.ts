// What every layout classifier takes and returns. The classifiers are pure: they look at one
// key's name, type and PTTL (plus what the run has learnt so far) and say what to check; the
// orphan engine does every read and write.
import type { OrphanKind } from '../../orphan-finding.model.js';

/** A tidykv (or any) index kept as a SET or sorted set whose members point at other keys. */
export interface IndexRule {
  /** Name shown in reports, e.g. `tidykv-session-principal`. */
  name: string;
  /** Glob of the index keys (SCAN MATCH syntax; `*` and `?` parts are captured as `$1`, `$2`...). */
  match: string;
  /**
   * Key a member points at: a template, or a function of the member and the glob captures. The
   * template understands `$member`, `$member[a:b]` (characters a to b-1), `$member_encoded`
   * (percent-encoded like @tidykv/core `encodeKeyPart`) and `$1`, `$2`... e.g. `app:sess:{$member}`.
   * A function may return undefined for a member that names no key: such a member is left alone.
   * Default: none (members are only judged by score).
   */
  target?: string | ((member: string, captures: readonly string[]) => string | undefined);
  /** Sorted-set scores are expiry times in ms: a member whose score is in the past is dead. Default: true. */
  scoreIsExpiry?: boolean;
}

/** A key as inspected: name, TYPE and PTTL. */
export interface InspectedKey {
  key: string;
  type: string;
  pttl: number;
}

/** An index whose members point at other keys. */
export interface Container {
  kind: OrphanKind;
  rule?: string;
  key: string;
  type: 'set' | 'zset';
  pttl: number;
  /** The key a member points at; undefined when the member names none (it is then left alone). */
  target?: (member: string) => string | undefined;
  scoreIsExpiry: boolean;
}

/** A key that is an orphan as a whole once its condition is checked. */
export interface OrphanKey {
  kind: OrphanKind;
  key: string;
  type: string;
  pttl: number;
  /** Main key whose absence makes this key an orphan (Spring Data `:idx`, `:phantom`). */
  dependsOn?: string;
  /** For partial hashes: the field whose absence marks them. */
  missingField?: string;
  /** Only an orphan while it has no TTL. */
  requireNoTtl: boolean;
  /** Members must start with this (Spring `:idx` sets name `<keyspace>:` index keys). */
  memberPrefix?: string;
}

/**
 * What a classifier says about one key: an index to walk, a key to check as a whole, a SET that
 * may be a Spring Data keyspace set (the engine decides by checking its members), or nothing.
 */
export type Classified = { container: Container } | { orphanKey: OrphanKey } | { candidateKeyspace: InspectedKey } | undefined;

/** A member found dead, with why. */
export interface DeadMember {
  member: string;
  /** Key the member points at (checked missing), when the layout has one. */
  target?: string;
  /** `expired`: zset score in the past; `missing`: target key gone. */
  reason: 'expired' | 'missing';
  score?: number;
}
