import { TidyKvDecodeError } from '@tidykv/core';
import { TidyKvSessionError } from './session.errors.js';
import type { SessionRuntime } from './internal/session-runtime.js';
import { isEmptyDelta, mergeDeltas } from './internal/session-delta.js';
import { RESERVED_PREFIX } from './internal/session-hash.mapper.js';
import { newSessionId, principalTag, randomTag, tagOf } from './internal/session-id.js';
import type { IdleChange, LoadResult, SessionDelta, StoredSession, WriteResult } from './internal/session-repository.js';

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

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || name.startsWith(RESERVED_PREFIX)) throw TidyKvSessionError.badAttributeName(name);
}

/**
 * The session of one HTTP request. Loaded at most once per request (by `@Session()` or
 * `SessionAccessor.load()`), read synchronously afterwards, and saved once at the end of the
 * request, before the response is sent, writing only what changed.
 *
 * `set` is last-writer-wins per attribute: two requests setting the same attribute concurrently
 * keep one of the two values, while writes of different attributes all persist. Counters that
 * must not lose updates use {@link increment}, which is atomic in Redis.
 */
export class HttpSession {
  private stored: StoredSession | undefined;
  private loaded: boolean;
  private loading: Promise<this> | undefined;
  private readonly sets = new Map<string, PendingSet>();
  private readonly dels = new Set<string>();
  private readonly got = new Set<string>();
  private readonly decoded = new Map<string, unknown>();
  private idle: IdleChange = 'keep';
  private regeneratePending = false;
  private dead: 'invalidated' | 'dropped' | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private flushError: Error | undefined;
  private pendingFlushes = 0;
  private queued = 0;
  /**
   * @internal What the response must carry: a new signed id (`set`), the same id again with a new
   * expiry (`refresh`, persistent cookies whose session was touched), a cleared cookie, or nothing.
   */
  transportChange: 'set' | 'refresh' | 'clear' | undefined;
  /** The outcome of the most recent save of this request, if any. */
  lastSave: SaveOutcome | undefined;
  /** @internal Redis operations this request made for its session (the commands-per-request metric). */
  operations = 0;

  /**
   * @internal Built by the session middleware; apps receive it through `@Session()` or `SessionAccessor`.
   * @param canDeliver - false when the id could not reach the client (a Secure cookie on a plain
   *   HTTP request): a session that needs a new id is then neither created nor moved.
   * @param legacySid - the verified id of an express-session cookie, when the request carries no
   *   tidykv id (the `legacy` option): loading migrates that session.
   */
  constructor(
    private readonly runtime: SessionRuntime,
    private readonly requestedId: string | undefined,
    private readonly canDeliver = true,
    private readonly legacySid?: string,
  ) {
    // Without a valid signed id there is nothing to load: the session is new and costs no Redis call.
    this.loaded = requestedId === undefined && legacySid === undefined;
  }

  /** The session id, or undefined while the session exists only in this request (nothing written yet). */
  get id(): string | undefined {
    return this.stored?.id;
  }

  /** True until the session is stored in Redis. */
  get isNew(): boolean {
    return this.stored === undefined;
  }

  /** True once the session has been read (or there was nothing to read). */
  get isLoaded(): boolean {
    return this.loaded;
  }

  /** True after `invalidate()`, or when a write found the session gone. */
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
    if (typeof this.idle === 'number') return this.idle;
    if (this.idle === 'default') return this.runtime.options.idleTimeoutMs;
    return this.stored?.idleTimeoutMs ?? this.runtime.options.idleTimeoutMs;
  }

  /** Reads the session from Redis (one command, touching it when due), once per request. */
  load(): Promise<this> {
    if (this.loaded) return Promise.resolve(this);
    this.loading ??= this.read().then(
      (r) => {
        this.stored = r && this.runtime.lazy.overlay(r.session);
        if (r?.touchedTtlMs !== undefined) this.expiryMoved();
        // legacy: a migrated session reaches the client under its tidykv id, as a new one does.
        if (r && this.requestedId === undefined) this.transportChange = 'set';
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

  private read(): Promise<LoadResult | undefined> {
    if (this.requestedId !== undefined) {
      this.operations++;
      return this.runtime.repository.load(this.requestedId);
    }
    // legacy: begin. Migrating retires the legacy session, so never when the new id cannot reach the client.
    if (!this.canDeliver) {
      this.runtime.warnInsecureOnce();
      return Promise.resolve(undefined);
    }
    return this.runtime.legacy?.load(this.legacySid as string, () => void this.operations++) ?? Promise.resolve(undefined);
    // legacy: end
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
      v = this.runtime.options.codec.decode(raw);
    } catch (err) {
      // Names the key and field so an operator can inspect the bad value.
      throw new TidyKvDecodeError(this.stored ? this.runtime.keyOf(this.stored.id) : '(new session)', name, err);
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
   * Sets attribute `name` (last writer wins per attribute). The value is encoded now, so a value
   * the codec cannot round-trip fails here with `TidyKvCodecError` and nothing is written.
   */
  set(name: string, value: unknown): this {
    checkName(name);
    this.assertAlive();
    const raw = this.runtime.options.codec.encode(value);
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

  /**
   * Adds `by` (a safe integer, default 1) to the integer attribute `name` and resolves to the new
   * value. Atomic in Redis (HINCRBY inside the session's write path, only if the session still
   * exists, keeping its TTL), so concurrent increments never lose one. It is sent at once (one
   * command); a missing attribute counts as 0. On a session not stored yet it creates the session.
   * Rejects with `TidyKvSessionError` code `TIDYKV_SESSION_GONE` when the session was logged out or
   * expired meanwhile (nothing is written), `TIDYKV_SESSION_ATTRIBUTE` when the attribute holds no
   * integer, and `TIDYKV_SESSION_STATE` when this request also has an unsaved `set` or `delete` of it.
   */
  async increment(name: string, by = 1): Promise<number> {
    checkName(name);
    this.assertAlive();
    if (!Number.isSafeInteger(by)) throw TidyKvSessionError.badIncrement(name, by);
    if (this.sets.has(name) || this.dels.has(name)) {
      throw TidyKvSessionError.state(`Attribute "${name}" has an unsaved set() or delete() in this request; await session.save() before increment("${name}").`);
    }
    this.runtime.checkIntegerCodec();
    await this.queue.catch(() => undefined);
    await this.load();
    if (this.dead === 'dropped') throw TidyKvSessionError.gone(`increment("${name}")`);
    const stored = this.stored;
    if (!stored) {
      // A new session: creating it with the attribute is the increment (one command).
      this.sets.set(name, { value: by, raw: this.runtime.options.codec.encode(by) });
      const outcome = await this.saveNow();
      if (outcome.status !== 'created') throw TidyKvSessionError.gone(`increment("${name}")`);
      return by;
    }
    this.operations++;
    const value = await this.runtime.repository.increment(stored, name, by);
    if (value === undefined) {
      this.dead = 'dropped';
      throw TidyKvSessionError.gone(`increment("${name}")`);
    }
    const attributes = new Map(stored.attributes);
    attributes.set(name, this.runtime.options.codec.encode(value));
    this.stored = { ...stored, attributes };
    this.decoded.set(name, value);
    return value;
  }

  /** Overrides the idle timeout of this session (ms); `undefined` returns to the module default. */
  setIdleTimeout(ms: number | undefined): this {
    this.assertAlive();
    if (ms !== undefined && (!Number.isInteger(ms) || ms <= 0)) {
      throw new TidyKvSessionError('TIDYKV_SESSION_ATTRIBUTE', `setIdleTimeout expects a positive integer number of ms or undefined, received ${String(ms)}.`);
    }
    this.idle = ms ?? 'default';
    this.afterChange();
    return this;
  }

  /**
   * Gives the session a new id at save time (login, against session fixation), keeping its data.
   * Atomic: one script renames the hash within its cluster slot and applies this request's
   * changes. On a session not stored yet, creating it under a fresh id is the regeneration: one
   * command, one id.
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
    // legacy: a logout also ends the express-session session the request carried, and the tidykv
    // session a concurrent request may have migrated it to.
    let migratedTo: string | undefined;
    if (this.legacySid !== undefined && this.stored === undefined && this.runtime.legacy) {
      this.operations++;
      migratedTo = await this.runtime.legacy.retire(this.legacySid);
    }
    const id = this.stored?.id ?? (this.loaded ? undefined : this.requestedId) ?? migratedTo;
    this.dead = 'invalidated';
    this.loaded = true;
    this.clearPending();
    this.regeneratePending = false;
    if (id !== undefined) {
      this.runtime.lazy.take(id);
      this.operations++;
      await this.runtime.repository.destroy(id);
    }
    if (this.requestedId !== undefined || id !== undefined) this.transportChange = 'clear';
    this.lastSave = { status: 'invalidated' };
  }

  private afterChange(): void {
    if (this.runtime.options.flushMode === 'immediate') {
      this.pendingFlushes++;
      this.queue = this.queue
        .then(() => this.saveNow())
        .catch((err: unknown) => {
          this.flushError ??= err instanceof Error ? err : new Error(String(err));
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

  private get hasPending(): boolean {
    return this.sets.size > 0 || this.dels.size > 0 || this.idle !== 'keep' || this.regeneratePending;
  }

  /** True when a save would have nothing to do (the common read-only request). */
  private get idleRequest(): boolean {
    if (this.dead || this.hasPending) return false;
    // Lazy attributes buffered by an earlier request are flushed by the first request after the interval.
    if (this.stored && this.runtime.lazy.due(this.stored.id)) return false;
    const mode = this.runtime.options.saveMode;
    return mode === 'on-set' || !this.stored || (mode === 'on-get' && this.got.size === 0);
  }

  /**
   * @internal End of request: waits for immediate flushes, then saves what is left. Returns
   * undefined synchronously when there is nothing to do, so read-only requests allocate no promise.
   */
  commit(): Promise<SaveOutcome> | undefined {
    if (this.pendingFlushes === 0 && this.flushError === undefined) {
      if (this.idleRequest) return undefined;
      if (this.queued === 0) return this.saveNow();
    }
    return this.queue.then(() => {
      if (this.flushError !== undefined) throw this.flushError;
      return this.saveNow();
    });
  }

  private buildDelta(): SessionDelta {
    const sets = new Map<string, string>();
    const { saveMode: mode, codec } = this.runtime.options;
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
    for (const f of this.dels) if (this.stored?.attributes.has(f)) dels.add(f);
    return { sets, dels, idle: this.idle };
  }

  private principalAfter(delta: SessionDelta): string | undefined {
    const pf = this.runtime.options.principal;
    if (pf === undefined) return undefined;
    if (delta.sets.has(pf)) return delta.sets.get(pf);
    if (delta.dels.has(pf)) return undefined;
    return this.stored?.attributes.get(pf);
  }

  private async saveNow(): Promise<SaveOutcome> {
    if (this.dead) return this.finish({ status: this.dead });
    if (!this.loaded) {
      // Untouched in this request: nothing to write, and no reason to read it (0 commands).
      if (!this.hasPending) return this.finish({ status: 'unchanged' });
      await this.load();
    }
    let delta = this.buildDelta();
    const principal = this.principalAfter(delta);
    const repository = this.runtime.repository;
    const stored = this.stored;

    if (!stored) {
      // Creating under a fresh id is the regeneration: one command, one id.
      this.regeneratePending = false;
      if (delta.sets.size === 0 || !this.canDeliver) {
        if (delta.sets.size > 0) this.runtime.warnInsecureOnce();
        this.clearPending();
        return this.finish({ status: 'unchanged' });
      }
      // Never reuse the id the client sent for a session Redis does not know: that is session fixation.
      const id = newSessionId(principal !== undefined ? principalTag(principal) : randomTag());
      this.operations++;
      const result = await repository.create(id, delta.sets, typeof delta.idle === 'number' ? delta.idle : undefined);
      return this.applied(result, 'created', 'set');
    }

    const move = this.regeneratePending || (principal !== undefined && principalTag(principal) !== tagOf(stored.id));
    if (move) {
      this.regeneratePending = false;
      if (!this.canDeliver) {
        this.runtime.warnInsecureOnce();
        this.clearPending();
        return this.finish({ status: 'unchanged' });
      }
      const lazy = this.runtime.lazy.take(stored.id);
      if (lazy) delta = mergeDeltas(lazy, delta);
      const newId = newSessionId(principal !== undefined ? principalTag(principal) : tagOf(stored.id));
      this.operations++;
      return this.applied(await repository.rename(stored, newId, delta), 'regenerated', 'set');
    }

    const requested = delta;
    delta = this.runtime.lazy.split(stored, delta);
    if (isEmptyDelta(delta)) {
      // Buffered only if the lazy buffer took something: a delete of an attribute the session does
      // not have leaves an empty delta too, and nothing was buffered for it.
      const buffered = !isEmptyDelta(requested);
      this.clearPending();
      return this.finish({ status: buffered ? 'buffered' : 'unchanged' });
    }
    this.operations++;
    return this.applied(await repository.save(stored, delta), 'saved', undefined);
  }

  private applied(result: WriteResult, status: SaveStatus, transport: 'set' | undefined): SaveOutcome {
    this.clearPending();
    if (result.status === 'dropped') {
      // Gone meanwhile (logout, expiry): the write is discarded and this request must not revive it.
      this.dead = 'dropped';
      return this.finish({ status: 'dropped' });
    }
    this.stored = result.session;
    if (transport === 'set') this.transportChange = 'set';
    else if (result.ttlMs !== undefined) this.expiryMoved();
    return this.finish({ status });
  }

  /** The session's expiry moved (a touch or a re-armed TTL): a persistent cookie is sent again. */
  private expiryMoved(): void {
    if (this.runtime.options.cookie.maxAgeMs !== undefined && this.transportChange === undefined) this.transportChange = 'refresh';
  }

  private clearPending(): void {
    for (const [f, p] of this.sets) this.decoded.set(f, p.value);
    this.sets.clear();
    this.dels.clear();
    this.got.clear();
    this.idle = 'keep';
  }

  private finish(o: SaveOutcome): SaveOutcome {
    this.lastSave = o;
    return o;
  }
}
