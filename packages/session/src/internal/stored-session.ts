/** A session as read from Redis. Treated as immutable: the near-cache may share it between requests. */
export interface StoredSession {
  readonly id: string;
  /** Attribute field -> encoded value. */
  readonly attributes: ReadonlyMap<string, string>;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms (server clock). */
  readonly lastAccessedAt: number;
  /** Per-session idle timeout, ms, when overridden. */
  readonly idleTimeoutMs: number | undefined;
}

/** A change set for one save: attributes to write and attributes to delete. */
export interface SessionDelta {
  readonly sets: ReadonlyMap<string, string>;
  readonly dels: ReadonlySet<string>;
  /** -1 leaves the idle override as is; 0 removes it; > 0 sets it (ms). */
  readonly idleOverrideMs: number;
}
