import type { SessionDelta, StoredSession } from './session-repository.js';
import { mergeDeltas } from './session-delta.js';

interface Buffered {
  /** The session as last seen, for the shutdown flush (its '#c' proves existence to the save). */
  readonly session: StoredSession;
  readonly sets: Map<string, string>;
  readonly dels: Set<string>;
  /** When the oldest buffered write was made, this process's clock (ms). */
  readonly since: number;
}

/**
 * Request policy for attributes whose writes alone do not justify a Redis write (a "last page
 * seen"): they wait in process memory, per session, until a regular write goes out anyway or the
 * touch interval has passed. A crash loses them (documented).
 */
export class LazyAttributeBuffer {
  private readonly buffers = new Map<string, Buffered>();

  constructor(
    private readonly names: ReadonlySet<string>,
    private readonly intervalMs: number,
  ) {}

  /** True when some attribute is lazy (otherwise every method is a no-op). */
  get enabled(): boolean {
    return this.names.size > 0 || this.buffers.size > 0;
  }

  /** `session` with this instance's buffered writes on top, so a request reads what the previous one set. */
  overlay(session: StoredSession): StoredSession {
    const b = this.buffers.get(session.id);
    if (!b) return session;
    const attributes = new Map(session.attributes);
    for (const [f, v] of b.sets) attributes.set(f, v);
    for (const f of b.dels) attributes.delete(f);
    return { ...session, attributes };
  }

  /**
   * Splits `delta`: lazy writes are buffered unless something else is written anyway or the
   * buffer is older than the interval. Returns what to write now (possibly nothing).
   */
  split(session: StoredSession, delta: SessionDelta): SessionDelta {
    const id = session.id;
    const prev = this.buffers.get(id);
    if (this.names.size === 0 && !prev) return delta;
    const sets = new Map<string, string>();
    const dels = new Set<string>();
    const lsets = new Map(prev?.sets);
    const ldels = new Set(prev?.dels);
    for (const [f, v] of delta.sets) {
      if (this.names.has(f)) {
        lsets.set(f, v);
        ldels.delete(f);
      } else sets.set(f, v);
    }
    for (const f of delta.dels) {
      if (this.names.has(f)) {
        ldels.add(f);
        lsets.delete(f);
      } else dels.add(f);
    }
    if (lsets.size + ldels.size === 0) {
      this.buffers.delete(id);
      return delta;
    }
    const since = prev?.since ?? Date.now();
    const regular = sets.size > 0 || dels.size > 0 || delta.idle !== 'keep';
    if (regular || Date.now() - since >= this.intervalMs) {
      this.buffers.delete(id);
      return mergeDeltas({ sets: lsets, dels: ldels, idle: 'keep' }, { sets, dels, idle: delta.idle });
    }
    this.buffers.set(id, { session, sets: lsets, dels: ldels, since });
    return { sets, dels, idle: 'keep' };
  }

  /** True when session `id` has writes buffered for longer than the interval. */
  due(id: string): boolean {
    if (this.buffers.size === 0) return false;
    const b = this.buffers.get(id);
    return b !== undefined && Date.now() - b.since >= this.intervalMs;
  }

  /** Removes and returns the buffer of a session about to change id or be deleted. */
  take(id: string): SessionDelta | undefined {
    const b = this.buffers.get(id);
    this.buffers.delete(id);
    return b && { sets: b.sets, dels: b.dels, idle: 'keep' };
  }

  /** Removes and returns every buffer with its session (shutdown flush). */
  drain(): [StoredSession, SessionDelta][] {
    const out = [...this.buffers.values()].map((b): [StoredSession, SessionDelta] => [b.session, { sets: b.sets, dels: b.dels, idle: 'keep' }]);
    this.buffers.clear();
    return out;
  }
}
