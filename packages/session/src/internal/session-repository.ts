/** A session as stored in Redis. Treated as immutable: the near-cache may share it between requests. */
export interface StoredSession {
  readonly id: string;
  /** Attribute field -> encoded value. */
  readonly attributes: ReadonlyMap<string, string>;
  /** When the session was created, epoch ms (server clock), exactly as stored in `#c`. */
  readonly createdAt: number;
  /** When it was last touched, epoch ms (server clock). */
  readonly lastAccessedAt: number;
  /** Per-session idle timeout, ms, when overridden. */
  readonly idleTimeoutMs: number | undefined;
}

/** What a save does to the per-session idle timeout: keep it, go back to the default, or set it (ms). */
export type IdleChange = 'keep' | 'default' | number;

/** A change set for one write: attributes to write and to delete, and the idle timeout change. */
export interface SessionDelta {
  readonly sets: ReadonlyMap<string, string>;
  readonly dels: ReadonlySet<string>;
  readonly idle: IdleChange;
}

/** The outcome of a write. `dropped`: the session was gone (logout, expiry); nothing was written. */
export type WriteResult =
  | {
      readonly status: 'written';
      /** The session as stored after the write (its id is the new one after a rename). */
      readonly session: StoredSession;
      /** The TTL the write re-armed, ms; undefined when the session kept its TTL. */
      readonly ttlMs: number | undefined;
    }
  | { readonly status: 'dropped' };

/** A loaded session, and the TTL its load re-armed (a touch), if any. */
export interface LoadResult {
  readonly session: StoredSession;
  readonly touchedTtlMs: number | undefined;
}

/** A live session of a principal, as listed by the principal index. */
export interface PrincipalEntry {
  /** The session id (not signed). */
  readonly id: string;
  /** When it expires unless used again, epoch ms. */
  readonly expiresAt: number;
  /** When it was created, epoch ms (server clock). */
  readonly createdAt: number;
  /** When it was last touched, epoch ms (server clock, throttled by the touch interval). */
  readonly lastAccessedAt: number;
}

/**
 * Where sessions live. The HTTP model ({@link HttpSession}) talks only to this, so it is tested
 * against the in-memory twin, and the Redis implementation owns everything Redis-specific: keys,
 * scripts, the near-cache and the touch schedule.
 */
export interface SessionRepository {
  /** The session `id`, or undefined when it does not exist. Touches it when a touch is due. */
  load(id: string): Promise<LoadResult | undefined>;
  /** Stores a new session under `id`; `createdAt` keeps a migrated session's birth time (0 = now). */
  create(id: string, attributes: ReadonlyMap<string, string>, idleOverrideMs: number | undefined, createdAt?: number): Promise<WriteResult>;
  /** Applies `delta` to `session`, only if it still exists. */
  save(session: StoredSession, delta: SessionDelta): Promise<WriteResult>;
  /** Moves `session` to `newId` with `delta` applied (regenerate), only if it still exists. */
  rename(session: StoredSession, newId: string, delta: SessionDelta): Promise<WriteResult>;
  /** Adds `by` to the integer attribute `name`; undefined when the session is gone. */
  increment(session: StoredSession, name: string, by: number): Promise<number | undefined>;
  /** Deletes session `id` and its index entry; true if it existed. */
  destroy(id: string): Promise<boolean>;
  /** Live sessions of the principal stored as `rawPrincipal`. */
  listByPrincipal(rawPrincipal: string): Promise<PrincipalEntry[]>;
}
