// The shapes `orphans` and `fix` report and log. They live apart from orphan.finder.ts and
// leak.fixer.ts so that the internals producing them (the orphan engine, the pruner, the change
// log) import types from here, not from the modules that import those internals.

/** The leftovers `findOrphans` recognises. */
export type OrphanKind =
  /** Spring Data Redis keyspace helper SET (`<keyspace>`) whose members name missing `<keyspace>:<id>` hashes. */
  | 'spring-data-keyspace'
  /** Spring Data Redis `@Indexed` SET `<keyspace>:<field>:<value>` with ids of missing entities. */
  | 'spring-data-index'
  /** Spring Data Redis `<keyspace>:<id>:idx` SET of an entity that no longer exists. */
  | 'spring-data-idx'
  /** Spring Data Redis `<keyspace>:<id>:phantom` copy without TTL of an entity that no longer exists. */
  | 'spring-data-phantom'
  /** Spring Session `<ns>:expirations:<minute>` bucket naming expired sessions. */
  | 'spring-session-expirations'
  /** Spring Session `<ns>:index:<index>:<value>` SET (the principal index) naming missing sessions. */
  | 'spring-session-index'
  /** Spring Session `<ns>:sessions:<id>` hash without `creationTime`: left by an update racing a delete. */
  | 'spring-session-partial'
  /** A tidykv index (or one described by an `indexRules` entry) with expired or dangling members. */
  | 'index';

/** One orphan: a key that is dead as a whole, or an index with dead members. */
export interface OrphanFinding {
  kind: OrphanKind;
  /** Name of the index rule, for kind `index`. */
  rule?: string;
  key: string;
  type: string;
  /** Members (SET/ZSET) or fields (hash) of the key. */
  members: number;
  /** Members that point at missing keys or have an expiry score in the past (all of them for a dead SET). */
  deadMembers: number;
  /** True when the key itself is the leftover (it can be unlinked); false when only members are dead. */
  wholeKey: boolean;
  /** MEMORY USAGE of the key, in bytes. */
  memoryBytes: number;
  /** PTTL of the key when inspected (-1: no TTL). */
  pttl: number;
}

/** Totals per kind. */
export interface OrphanTotals {
  keys: number;
  deadMembers: number;
  memoryBytes: number;
}

/** One line of the change log `fix` keeps. */
export interface ChangeLogEntry {
  /** ISO time of the change. */
  at: string;
  /** What was (or, in a dry run, would be) done. */
  action: 'expire' | 'remove-member' | 'restore-member' | 'unlink';
  key: string;
  member?: string;
  /** Orphan kind, for pruned members and keys. */
  kind?: string;
  /** TTL set by `expire`, in seconds. */
  seconds?: number;
  /** False in a dry run. */
  applied: boolean;
  /** What Redis answered: `done`, or why nothing was changed (`kept: target exists`, `gone`, `has ttl`...). */
  result: string;
}

/** What pruning did, for the fix report. */
export interface PruneCounters {
  /** Dead members removed (or, in a dry run, that would be). */
  membersRemoved: number;
  /** Members found dead but alive again at removal time, and kept. */
  membersKept: number;
  /** Members removed on a Cluster whose target re-appeared right after, and were put back. */
  membersRestored: number;
  /** Orphaned keys unlinked (or that would be). */
  keysUnlinked: number;
  /** Orphaned keys alive again at removal time, and kept. */
  keysKept: number;
  /**
   * Memory of the keys unlinked (or that would be), in bytes: MEMORY USAGE ... SAMPLES 0 of each,
   * measured just before its UNLINK. Exact as Redis accounts a key (UNLINK frees it in the background).
   */
  keysUnlinkedBytes: number;
  /**
   * Memory freed by removing dead members, in bytes; an estimate. With `apply`, MEMORY USAGE
   * (SAMPLES 0) of each index before its first removal minus after its last (app writes in
   * between count too); in a dry run, each index's memory times its share of dead members.
   */
  membersRemovedBytes: number;
}

