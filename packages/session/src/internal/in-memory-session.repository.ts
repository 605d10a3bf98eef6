import { TidyKvSessionError } from '../session.errors.js';
import { applyDelta, idleAfter } from './session-delta.js';
import { principalTag } from './session-id.js';
import type { LoadResult, PrincipalEntry, SessionDelta, SessionRepository, StoredSession, WriteResult } from './session-repository.js';

interface Entry {
  session: StoredSession;
  expiresAt: number;
}

/** Timeouts and touch policy the twin applies, like the Redis scripts do. */
export interface InMemorySessionPolicy {
  readonly idleTimeoutMs: number;
  readonly absoluteTimeoutMs: number;
  readonly touchIntervalMs: number;
  /** The principal attribute, or undefined when the index is off. */
  readonly principal: string | undefined;
}

/**
 * An in-memory twin of the Redis session repository (as spring-session's MapSessionRepository is
 * of its Redis one): the same contract, with a clock the test controls, so the request model above
 * the repository is unit-tested without Redis. It never replaces the Redis tests.
 */
export class InMemorySessionRepository implements SessionRepository {
  private readonly entries = new Map<string, Entry>();
  /** Calls per operation, for tests that check what the model asks for. */
  readonly calls: Record<'load' | 'create' | 'save' | 'rename' | 'increment' | 'destroy' | 'list', number> = {
    load: 0,
    create: 0,
    save: 0,
    rename: 0,
    increment: 0,
    destroy: 0,
    list: 0,
  };

  constructor(
    private readonly policy: InMemorySessionPolicy,
    /** The clock, epoch ms. */
    readonly now: () => number = Date.now,
  ) {}

  /** Number of live sessions. */
  get size(): number {
    this.sweep();
    return this.entries.size;
  }

  /** The stored session `id` without touching it, or undefined. */
  peek(id: string): StoredSession | undefined {
    this.sweep();
    return this.entries.get(id)?.session;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(id);
  }

  private live(id: string): Entry | undefined {
    this.sweep();
    return this.entries.get(id);
  }

  private ttl(session: StoredSession, now: number): number {
    const idle = session.idleTimeoutMs ?? this.policy.idleTimeoutMs;
    return this.policy.absoluteTimeoutMs > 0 ? Math.min(idle, session.createdAt + this.policy.absoluteTimeoutMs - now) : idle;
  }

  private touch(e: Entry, force: boolean): number | undefined {
    const now = this.now();
    if (!force && now - e.session.lastAccessedAt < this.policy.touchIntervalMs) return undefined;
    const ttl = this.ttl(e.session, now);
    if (ttl <= 0) {
      this.entries.delete(e.session.id);
      return 0;
    }
    e.session = { ...e.session, lastAccessedAt: Math.max(e.session.lastAccessedAt, now) };
    e.expiresAt = now + ttl;
    return ttl;
  }

  async load(id: string): Promise<LoadResult | undefined> {
    this.calls.load++;
    const e = this.live(id);
    if (!e) return undefined;
    const ttl = this.touch(e, false);
    if (ttl === 0) return undefined;
    return { session: e.session, touchedTtlMs: ttl };
  }

  async create(id: string, attributes: ReadonlyMap<string, string>, idleOverrideMs: number | undefined, createdAt = 0): Promise<WriteResult> {
    this.calls.create++;
    const now = this.now();
    const session: StoredSession = { id, attributes: new Map(attributes), createdAt: createdAt || now, lastAccessedAt: now, idleTimeoutMs: idleOverrideMs };
    const ttl = this.ttl(session, now);
    if (ttl <= 0) return { status: 'dropped' };
    this.entries.set(id, { session, expiresAt: now + ttl });
    return { status: 'written', session, ttlMs: ttl };
  }

  async save(session: StoredSession, delta: SessionDelta): Promise<WriteResult> {
    this.calls.save++;
    const e = this.live(session.id);
    if (!e) return { status: 'dropped' };
    const rearm = delta.idle !== 'keep' || (this.policy.principal !== undefined && (delta.sets.has(this.policy.principal) || delta.dels.has(this.policy.principal)));
    e.session = { ...e.session, attributes: applyDelta(e.session.attributes, delta), idleTimeoutMs: idleAfter(e.session.idleTimeoutMs, delta.idle) };
    const ttl = this.touch(e, rearm);
    if (ttl === 0) return { status: 'dropped' };
    return { status: 'written', session: e.session, ttlMs: ttl };
  }

  async rename(session: StoredSession, newId: string, delta: SessionDelta): Promise<WriteResult> {
    this.calls.rename++;
    const e = this.live(session.id);
    if (!e) return { status: 'dropped' };
    this.entries.delete(session.id);
    const moved: Entry = {
      session: { ...e.session, id: newId, attributes: applyDelta(e.session.attributes, delta), idleTimeoutMs: idleAfter(e.session.idleTimeoutMs, delta.idle) },
      expiresAt: e.expiresAt,
    };
    this.entries.set(newId, moved);
    const ttl = this.touch(moved, true);
    if (ttl === 0) return { status: 'dropped' };
    return { status: 'written', session: moved.session, ttlMs: ttl };
  }

  async increment(session: StoredSession, name: string, by: number): Promise<number | undefined> {
    this.calls.increment++;
    const e = this.live(session.id);
    if (!e) return undefined;
    const before = e.session.attributes.get(name) ?? '0';
    if (!/^-?\d+$/.test(before)) throw TidyKvSessionError.notAnInteger(name);
    const value = Number(before) + by;
    const attributes = new Map(e.session.attributes);
    attributes.set(name, String(value));
    e.session = { ...e.session, attributes };
    return value;
  }

  async destroy(id: string): Promise<boolean> {
    this.calls.destroy++;
    return this.entries.delete(id) && true;
  }

  async listByPrincipal(rawPrincipal: string): Promise<PrincipalEntry[]> {
    this.calls.list++;
    this.sweep();
    const pf = this.policy.principal;
    if (pf === undefined) return [];
    const tag = principalTag(rawPrincipal);
    return [...this.entries.values()]
      .filter((e) => e.session.id.startsWith(tag) && e.session.attributes.get(pf) === rawPrincipal)
      .map((e) => ({ id: e.session.id, expiresAt: e.expiresAt, createdAt: e.session.createdAt, lastAccessedAt: e.session.lastAccessedAt }))
      .sort((a, b) => a.expiresAt - b.expiresAt);
  }
}
