import { LRUCache } from 'lru-cache';

/**
 * When the next touch of each recently seen session is due, in this process's clock. It decides
 * only which command a load or a save sends (a plain HGETALL or a lean save instead of the
 * touching script); a wrong guess never skips a touch the session needs, because every re-armed
 * TTL lasts longer than the interval after which the schedule calls for the next touch.
 */
export class TouchSchedule {
  private readonly dueAt = new LRUCache<string, number>({ max: 100_000 });

  constructor(
    private readonly intervalMs: number,
    private readonly defaultIdleMs: number,
  ) {}

  /**
   * The touch interval of a session with idle timeout `idleMs`: the module's interval, or half the
   * session's own idle timeout when that is shorter (a per-session override below the interval
   * must still be touched before it idles out).
   */
  intervalFor(idleMs: number | undefined): number {
    return Math.min(this.intervalMs, Math.floor((idleMs ?? this.defaultIdleMs) / 2));
  }

  /** True unless this process knows that no touch of `id` is due yet. */
  isDue(id: string): boolean {
    const at = this.dueAt.get(id);
    return at === undefined || Date.now() >= at;
  }

  /**
   * Records what the server reported: its clock `serverNow` and the session's `lastAccessedAt`,
   * both server time, so skew between this process and Redis does not matter.
   */
  observe(id: string, serverNow: number, lastAccessedAt: number, intervalMs: number): void {
    this.dueAt.set(id, Date.now() + intervalMs - Math.max(0, serverNow - lastAccessedAt));
  }

  /** The session's TTL and lastAccessedAt were just re-armed. */
  touched(id: string, intervalMs: number): void {
    this.dueAt.set(id, Date.now() + intervalMs);
  }

  forget(id: string): void {
    this.dueAt.delete(id);
  }
}
