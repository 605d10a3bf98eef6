import { TidyKvDecodeError } from '@tidykv/core';
import { TidyKvSessionError } from './session.errors.js';
import type { SessionStore, WriteOutcome } from './internal/session-store.js';
import { newSessionId, principalTag, randomTag, tagOf } from './internal/session-id.js';
import type { SessionDelta, StoredSession } from './internal/stored-session.js';

/**
 * What the last save did:
 * - `unchanged`: nothing to write (no Redis command);
 * - `buffered`: only lazy attributes changed; they wait in process for the next write;
 * - `created`: a new session was stored;
 * - `saved`: the delta was written;
 * - `regenerated`: the session moved to a new id (with the delta);
 * - `dropped`: the session was gone (logged out or expired meanwhile), so the write was discarded
 *   and the session was not brought back;
 * - `invalidated`: the session was invalidated in this request.
 */
export type SaveStatus = 'unchanged' | 'buffered' | 'created' | 'saved' | 'regenerated' | 'dropped' | 'invalidated';

/** The result of {@link HttpSession.save}. */
export interface SaveOutcome {
  readonly status: SaveStatus;
}

interface PendingSet {
  readonly value: unknown;
  readonly raw: string;
}

const RESERVED = '#';

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || name.startsWith(RESERVED)) throw TidyKvSessionError.badAttributeName(name);
}

/**
 * The session of one HTTP request. Loaded at most once per request (by `@Session()` or
 * `SessionAccessor.load()`), read synchronously afterwards, and saved once at the end of the
 * request, before the response is sent, writing only what changed.
 */
export class HttpSession {
  private stored: StoredSession | undefined;
  private currentId: string | undefined;
  private loaded: boolean;
  private loading: Promise<this> | undefined;
  private readonly sets = new Map<string, PendingSet>();
  private readonly dels = new Set<string>();
  private readonly got = new Set<string>();
  private readonly decoded = new Map<string, unknown>();
  private idleOverride = -1;
  private regeneratePending = false;
  private dead: 'invalidated' | 'dropped' | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private flushError: unknown;
  private pendingFlushes = 0;
  private queued = 0;
  /** What the response must carry: a new signed id, a cleared cookie, or nothing. */
  transportChange: 'set' | 'clear' | undefined;
  /** The outcome of the most recent save of this request, if any. */
  lastSave: SaveOutcome | undefined;

  /** @internal Built by the session middleware; apps receive it through `@Session()` or `SessionAccessor`. */
  constructor(
    private readonly store: SessionStore,
    private readonly requestedId: string | undefined,
  ) {
    // Without a valid signed id there is nothing to load: the session is new and costs no Redis call.
    this.loaded = requestedId === undefined;
  }

  /** The session id, or undefined while the session exists only in this request (nothing written yet). */
  get id(): string | undefined {
    return this.currentId;
  }

  /** True until the session is stored in Redis. */
  get isNew(): boolean {
    return this.stored === undefined;
  }

  /** True once the session has been read (or there was nothing to read). */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** True after `invalidate()`, or when a save found the session gone. */
  get isDead(): boolean {
    return this.dead !== undefined;
  }

  /** When the session was created (server clock), or undefined for a new session. */
  get createdAt(): Date | undefined {
    return this.stored ? new Date(this.stored.createdAt) : undefined;
  }

  /** When the session was last touched (server clock, throttled by `touchIntervalMs`). */
  get lastAccessedAt(): Date | undefined {
    return this.stored ? new Date(this.stored.lastAccessedAt) : undefined;
  }

  /** The idle timeout of this session in ms: its override, or the module's `idleTimeoutMs`. */
  get idleTimeoutMs(): number {
    if (this.idleOverride > 0) return this.idleOverride;
    if (this.idleOverride === 0) return this.store.options.idleTimeoutMs;
    return this.stored?.idleTimeoutMs ?? this.store.options.idleTimeoutMs;
  }

  /** Reads the session from Redis (one command, touching it when due), once per request. */
  load(): Promise<this> {
    if (this.loaded) return Promise.resolve(this);
    this.loading ??= this.store.load(this.requestedId as string).then(
      (s) => {
        this.stored = s;
        this.currentId = s?.id;
        this.loaded = true;
        this.loading = undefined;
        return this;
      },
      (err: unknown) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  private assertLoaded(): void {
    if (!this.loaded) {
      throw TidyKvSessionError.state('The session was read before it was loaded: take it with @Session(), or `await sessionAccessor.load()` first.');
    }
  }

  private assertAlive(): void {
    if (this.dead === 'invalidated') {
      throw TidyKvSessionError.state('The session was invalidated in this request; it cannot be written any more.');
    }
  }

  /** The value of attribute `name`, or undefined. */
  get<T = unknown>(name: string): T | undefined {
    this.assertLoaded();
    const p = this.sets.get(name);
    if (p) return p.value as T;
    if (this.dels.has(name)) return undefined;
    if (this.decoded.has(name)) {
      this.got.add(name);
      return this.decoded.get(name) as T;
    }
    const raw = this.stored?.attributes.get(name);
    if (raw === undefined) return undefined;
    let v: unknown;
    try {
      v = this.store.options.codec.decode(raw);
    } catch (err) {
      // Names the key and field so an operator can inspect the bad value.
      throw new TidyKvDecodeError(this.currentId ? this.store.sessionKey(this.currentId) : '(new session)', name, err);
    }
    this.decoded.set(name, v);
    this.got.add(name);
    return v as T;
  }

  /** True when attribute `name` is set. */
  has(name: string): boolean {
    this.assertLoaded();
    if (this.sets.has(name)) return true;
    if (this.dels.has(name)) return false;
    return this.stored?.attributes.has(name) ?? false;
  }

  /** Names of every attribute. */
  keys(): string[] {
    this.assertLoaded();
    const names = new Set(this.stored?.attributes.keys());
    for (const n of this.sets.keys()) names.add(n);
    for (const n of this.dels) names.delete(n);
    return [...names];
  }

  /**
   * Sets attribute `name`. The value is encoded now, so a value the codec cannot round-trip fails
   * here with `TidyKvCodecError` and nothing is written.
   */
  set(name: string, value: unknown): this {
    checkName(name);
    this.assertAlive();
    const raw = this.store.options.codec.encode(value);
    this.sets.set(name, { value, raw });
    this.dels.delete(name);
    this.decoded.delete(name);
    this.afterChange();
    return this;
  }

  /** Removes attribute `name`. */
  delete(name: string): this {
    checkName(name);
    this.assertAlive();
    this.sets.delete(name);
    this.decoded.delete(name);
    this.dels.add(name);
    this.afterChange();
    return this;
  }

  /** Overrides the idle timeout of this session (ms); `undefined` returns to the module default. */
  setIdleTimeout(ms: number | undefined): this {
    this.assertAlive();
    if (ms !== undefined && (!Number.isInteger(ms) || ms <= 0)) {
      throw new TidyKvSessionError('TIDYKV_SESSION_ATTRIBUTE', `setIdleTimeout expects a positive integer number of ms or undefined, received ${String(ms)}.`);
    }
    this.idleOverride = ms ?? 0;
    this.afterChange();
    return this;
  }

  /**
   * Gives the session a new id at save time (login, against session fixation), keeping its data.
   * Atomic: one script renames the hash within its cluster slot and applies this request's changes.
   */
  regenerate(): this {
    this.assertAlive();
    this.regeneratePending = true;
    this.afterChange();
    return this;
  }

  /** Deletes the session now (logout) and clears the cookie. Racing writes from other requests are dropped. */
  async invalidate(): Promise<void> {
    await this.queue.catch(() => undefined);
    if (this.dead === 'invalidated') return;
    if (!this.loaded && this.requestedId !== undefined) {
      this.currentId = this.requestedId;
      this.stored = { id: this.requestedId, attributes: new Map(), createdAt: 0, lastAccessedAt: 0, idleTimeoutMs: undefined };
    }
    const id = this.currentId;
    this.dead = 'invalidated';
    this.loaded = true;
    this.sets.clear();
    this.dels.clear();
    if (id !== undefined) await this.store.destroy(id);
    if (this.requestedId !== undefined || id !== undefined) this.transportChange = 'clear';
    this.lastSave = { status: 'invalidated' };
  }

  private afterChange(): void {
    if (this.store.options.flushMode === 'immediate') {
      this.pendingFlushes++;
      this.queue = this.queue
        .then(() => this.saveNow())
        .catch((err: unknown) => {
          this.flushError ??= err;
        })
        .finally(() => {
          this.pendingFlushes--;
        });
    }
  }

  /**
   * Writes pending changes now (one command; nothing when nothing changed) and tells what happened.
   * The end of the request calls it too, so calling it is only needed to learn the outcome early.
   */
  save(): Promise<SaveOutcome> {
    this.queued++;
    const run = this.queue.then(() => this.saveNow());
    this.queue = run.then(
      () => void this.queued--,
      () => void this.queued--,
    );
    return run;
  }

  /** @internal Drops this request's unsaved writes (the response is a server error). */
  discardPending(): void {
    this.clearPending();
    this.regeneratePending = false;
  }

  /** True when a save would have nothing to do (the common read-only request). */
  private get idle(): boolean {
    if (this.dead || this.sets.size > 0 || this.dels.size > 0 || this.idleOverride !== -1 || this.regeneratePending) return false;
    // Lazy attributes buffered by an earlier request are flushed by the first request after the interval.
    if (this.stored && this.store.lazyDue(this.stored.id)) return false;
    const mode = this.store.options.saveMode;
    return mode === 'on-set' || !this.stored || (mode === 'on-get' && this.got.size === 0);
  }

  /**
   * @internal End of request: waits for immediate flushes, then saves what is left. Returns
   * undefined synchronously when there is nothing to do, so read-only requests allocate no promise.
   */
  commit(): Promise<SaveOutcome> | undefined {
    if (this.pendingFlushes === 0 && this.flushError === undefined) {
      if (this.idle) return undefined;
      if (this.queued === 0) return this.saveNow();
    }
    return this.queue.then(() => {
      if (this.flushError !== undefined) throw this.flushError;
      return this.saveNow();
    });
  }

  private buildDelta(): SessionDelta {
    const sets = new Map<string, string>();
    const mode = this.store.options.saveMode;
    const codec = this.store.options.codec;
    if (mode === 'always' && this.stored) {
      for (const [f, raw] of this.stored.attributes) {
        if (this.dels.has(f)) continue;
        sets.set(f, this.decoded.has(f) ? codec.encode(this.decoded.get(f)) : raw);
      }
    } else if (mode === 'on-get') {
      for (const f of this.got) {
        if (this.sets.has(f) || this.dels.has(f) || !this.decoded.has(f)) continue;
        const raw = codec.encode(this.decoded.get(f));
        // In-place mutation is what on-get is for; an unchanged encoding needs no write.
        if (raw !== this.stored?.attributes.get(f)) sets.set(f, raw);
      }
    }
    for (const [f, p] of this.sets) sets.set(f, p.raw);
    const dels = new Set<string>();
    for (const f of this.dels) if (this.stored?.attributes.has(f) || !this.stored) dels.add(f);
    return { sets, dels, idleOverrideMs: this.idleOverride };
  }

  private principalAfter(delta: SessionDelta): string | undefined {
    const pf = this.store.options.principal;
    if (pf === undefined) return undefined;
    if (delta.sets.has(pf)) return delta.sets.get(pf);
    if (delta.dels.has(pf)) return undefined;
    return this.stored?.attributes.get(pf);
  }

  private async saveNow(): Promise<SaveOutcome> {
    if (this.dead) return this.finish({ status: this.dead });
    if (!this.loaded) {
      // Untouched in this request: nothing to write, and no reason to read it (0 commands).
      if (this.sets.size === 0 && this.dels.size === 0 && this.idleOverride === -1 && !this.regeneratePending) return this.finish({ status: 'unchanged' });
      await this.load();
    }
    let delta = this.buildDelta();
    const principal = this.principalAfter(delta);
    const store = this.store;
    let outcome: WriteOutcome;
    let status: SaveStatus;

    if (!this.stored) {
      if (delta.sets.size === 0) return this.finish({ status: 'unchanged' });
      // Never reuse the id the client sent for a session Redis does not know: that is session fixation.
      const id = newSessionId(principal !== undefined ? principalTag(principal) : randomTag());
      outcome = await store.create(id, delta.sets, delta.idleOverrideMs);
      if (outcome === 'written') {
        this.stored = { id, attributes: delta.sets, createdAt: Date.now(), lastAccessedAt: Date.now(), idleTimeoutMs: delta.idleOverrideMs > 0 ? delta.idleOverrideMs : undefined };
        this.currentId = id;
        this.transportChange = 'set';
        status = 'created';
      } else status = 'dropped';
      return this.applied(outcome, status, delta);
    }

    const oldId = this.stored.id;
    const move = this.regeneratePending || (principal !== undefined && principalTag(principal) !== tagOf(oldId));
    if (move) {
      const lazy = store.takeLazy(oldId);
      if (lazy) {
        const sets = new Map(lazy.sets);
        for (const [f, v] of delta.sets) sets.set(f, v);
        const dels = new Set([...lazy.dels].filter((f) => !delta.sets.has(f)));
        for (const f of delta.dels) dels.add(f);
        delta = { sets, dels, idleOverrideMs: delta.idleOverrideMs };
      }
      const newId = newSessionId(principal !== undefined ? principalTag(principal) : tagOf(oldId));
      const d = delta;
      outcome = await store.rename(oldId, newId, d, () => {
        const attributes = new Map(this.stored?.attributes);
        for (const [f, v] of d.sets) attributes.set(f, v);
        for (const f of d.dels) attributes.delete(f);
        const ov = d.idleOverrideMs === -1 ? (this.stored?.idleTimeoutMs ?? 0) : d.idleOverrideMs;
        return { attributes, createdAt: this.stored?.createdAt ?? 0, idleOverrideMs: ov };
      });
      this.regeneratePending = false;
      if (outcome === 'written') {
        this.currentId = newId;
        this.stored = { ...this.stored, id: newId };
        this.transportChange = 'set';
      }
      return this.applied(outcome, 'regenerated', delta);
    }

    delta = store.mergeLazy(oldId, delta);
    if (delta.sets.size === 0 && delta.dels.size === 0 && delta.idleOverrideMs === -1) {
      const buffered = this.sets.size > 0 || this.dels.size > 0;
      this.clearPending();
      return this.finish({ status: buffered ? 'buffered' : 'unchanged' });
    }
    const d = delta;
    return store.save(oldId, d).then((o) => this.applied(o, 'saved', d));
  }

  private applied(outcome: WriteOutcome, status: SaveStatus, delta: SessionDelta): SaveOutcome {
    if (outcome === 'dropped') {
      // Gone meanwhile (logout, expiry): the write is discarded and this request must not revive it.
      this.dead = 'dropped';
      this.clearPending();
      return this.finish({ status: 'dropped' });
    }
    if (this.stored) {
      const attributes = new Map(this.stored.attributes);
      for (const [f, v] of delta.sets) attributes.set(f, v);
      for (const f of delta.dels) attributes.delete(f);
      const idle = delta.idleOverrideMs === -1 ? this.stored.idleTimeoutMs : delta.idleOverrideMs > 0 ? delta.idleOverrideMs : undefined;
      this.stored = { ...this.stored, attributes, idleTimeoutMs: idle };
    }
    this.clearPending();
    return this.finish({ status });
  }

  private clearPending(): void {
    for (const [f, p] of this.sets) this.decoded.set(f, p.value);
    this.sets.clear();
    this.dels.clear();
    this.got.clear();
    this.idleOverride = -1;
  }

  private finish(o: SaveOutcome): SaveOutcome {
    this.lastSave = o;
    return o;
  }
}
