import type { Cluster, Redis } from 'ioredis';
import { KeyBuilder, LuaScriptSet, RedisConnection } from '@tidykv/core';
import * as sources from '../lua/scripts.generated.js';
import { mapScriptReply } from '../session.errors.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import { LRUCache } from 'lru-cache';
import { NearCache } from './near-cache.js';
import { ID_LENGTH, TAG_LENGTH, isSessionId, principalTag, tagOf } from './session-id.js';
import type { SessionDelta, StoredSession } from './stored-session.js';

type ScriptName = 'createSession' | 'loadSession' | 'saveSession' | 'destroySession' | 'renameSession';

const SCRIPTS = new LuaScriptSet<ScriptName>(sources, 'session');

/** Outcome of a write. `dropped`: the session was gone (logout or expiry), nothing was written. */
export type WriteOutcome = 'written' | 'dropped';

interface LazyEntry {
  readonly sets: Map<string, string>;
  readonly dels: Set<string>;
  readonly since: number;
}

/**
 * Every Redis operation of the session package, one command each, plus the near-cache and the
 * buffer of lazy attributes. Keys are built here and only here.
 */
export class SessionStore {
  readonly connection: RedisConnection;
  private readonly keys: KeyBuilder;
  private readonly sessionPrefixLength: number;
  readonly nearCache: NearCache | undefined;
  private readonly lazy = new Map<string, LazyEntry>();
  /**
   * When the next touch of a session is due, in this process's clock (ms). Only this: whether a
   * read may skip the touch script. A wrong guess costs at most one script call, never a missed
   * touch, because lastAccessedAt only moves forwards.
   */
  private readonly touchDueAt = new LRUCache<string, number>({ max: 100_000 });
  /** Commands in flight; shutdown waits until it is back to 0. */
  private inflight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly pf: string;
  /** Whether requests run inside AsyncLocalStorage; settled at start-up when the option is 'auto'. */
  asyncContextActive: boolean;

  constructor(readonly options: ResolvedSessionOptions) {
    this.keys = new KeyBuilder(options.keyPrefix, 'SessionModule.keyPrefix');
    this.connection = RedisConnection.create(options.connection, 'SessionModule.connection', 'tidykv-session');
    SCRIPTS.attach(this.connection.client);
    this.pf = options.principal ?? '';
    this.asyncContextActive = options.asyncContext !== false;
    this.sessionPrefixLength = `${options.keyPrefix}s:{`.length;
    this.nearCache = options.nearCache
      ? new NearCache(options.nearCache.max, options.nearCache.maxStalenessMs, `${options.keyPrefix}s:`, (k) => this.idOfKey(k))
      : undefined;
  }

  /**
   * Runs one command. A connection tidykv opened already carries ioredis's commandTimeout, so only
   * errors need mapping (one promise less per request than RedisConnection.run); an app-owned
   * client gets the full run() with its own timer.
   */
  private exec<T>(operation: string, fn: (c: Redis | Cluster) => Promise<T>): Promise<T>;
  private exec<T, R>(operation: string, fn: (c: Redis | Cluster) => Promise<T>, then: (reply: T) => R): Promise<R>;
  private exec<T, R>(operation: string, fn: (c: Redis | Cluster) => Promise<T>, then?: (reply: T) => R): Promise<T | R> {
    this.inflight++;
    const sent = this.connection.run(operation, fn);
    // One continuation for both outcomes: every promise costs more once AsyncLocalStorage is on.
    return sent.then(
      (reply) => {
        this.settled();
        return then ? then(reply) : reply;
      },
      (err: unknown) => {
        this.settled();
        throw err;
      },
    );
  }

  /** Starts the near-cache's tracking connections, when configured. */
  async start(): Promise<void> {
    if (this.nearCache) await this.nearCache.start(this.connection.client as Redis);
  }

  get client(): Redis | Cluster {
    return this.connection.client;
  }

  /** `<prefix>s:{<tag>}<rest>`: the tag decides the slot, the rest is the 128-bit secret. */
  sessionKey(id: string): string {
    return this.keys.tagged('s', tagOf(id)) + id.slice(TAG_LENGTH);
  }

  /** `<prefix>u:{<tag>}`: the principal index of every session carrying `tag`. */
  indexKey(tag: string): string {
    return this.keys.tagged('u', tag);
  }

  private idOfKey(key: string): string | undefined {
    const tag = key.slice(this.sessionPrefixLength, this.sessionPrefixLength + TAG_LENGTH);
    const id = tag + key.slice(this.sessionPrefixLength + TAG_LENGTH + 1);
    return id.length === ID_LENGTH ? id : undefined;
  }

  private get base(): [number, number] {
    return [this.options.idleTimeoutMs, this.options.absoluteTimeoutMs];
  }

  /** Waits for every command in flight (shutdown). */
  drain(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private settled(): void {
    if (--this.inflight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Reads a session in one command; undefined when it does not exist. When a touch may be due the
   * command is the load script, which touches in the same step; when this instance knows the touch
   * is not due yet, a plain HGETALL does (no Lua on the server). A near-cache hit costs nothing.
   */
  load(id: string): Promise<StoredSession | undefined> {
    const cache = this.nearCache;
    const dueAt = this.touchDueAt.get(id);
    const touchNotDue = dueAt !== undefined && Date.now() < dueAt;
    if (cache && touchNotDue) {
      const hit = cache.get(id);
      if (hit) return Promise.resolve(this.withLazy(hit));
    }
    const epoch = cache?.epoch ?? 0;
    if (touchNotDue) {
      return this.exec(
        'session load',
        (c) => c.hgetall(this.sessionKey(id)),
        (hash) => this.parseHash(id, hash, epoch),
      );
    }
    return this.exec(
      'session load',
      (c) => SCRIPTS.run<unknown>(c, 'loadSession', [this.sessionKey(id), this.indexKey(tagOf(id))], [...this.base, this.options.touchIntervalMs, this.pf, id]),
      (reply) => this.parseLoad(id, reply, epoch),
    );
  }

  private forget(id: string): undefined {
    this.nearCache?.delete(id);
    this.lazy.delete(id);
    this.touchDueAt.delete(id);
    return undefined;
  }

  private toStored(id: string, fields: Iterable<[string, string]>): StoredSession {
    const attributes = new Map<string, string>();
    let createdAt = 0;
    let accessedOffset = 0;
    let idleTimeoutMs: number | undefined;
    for (const [f, v] of fields) {
      if (f === '#c') createdAt = Number(v);
      else if (f === '#a') accessedOffset = Number(v);
      else if (f === '#i') idleTimeoutMs = Number(v);
      else if (!f.startsWith('#')) attributes.set(f, v);
    }
    // '#a' is stored as an offset from '#c' (a smaller integer in the listpack).
    return { id, attributes, createdAt, lastAccessedAt: createdAt + accessedOffset, idleTimeoutMs };
  }

  private parseHash(id: string, hash: Record<string, string>, epoch: number): StoredSession | undefined {
    const entries = Object.entries(hash);
    if (entries.length === 0) return this.forget(id);
    const s = this.toStored(id, entries);
    this.nearCache?.set(id, s, epoch);
    return this.withLazy(s);
  }

  private parseLoad(id: string, reply: unknown, epoch: number): StoredSession | undefined {
    if (mapScriptReply('loadSession', reply) !== 'ok') return this.forget(id);
    const arr = reply as (string | number)[];
    const pairs: [string, string][] = [];
    for (let i = 2; i < arr.length; i += 2) pairs.push([String(arr[i]), String(arr[i + 1])]);
    const s = this.toStored(id, pairs);
    // When the next touch is due, in this process's clock: the server reports its own "now", so the
    // elapsed time is computed on one clock and skew between app and server does not matter.
    const serverNow = Number(arr[0]);
    this.touchDueAt.set(id, Date.now() + this.options.touchIntervalMs - Math.max(0, serverNow - s.lastAccessedAt));
    // A touch writes the key, and our own write comes back as an invalidation: only cache untouched reads.
    if (arr[1] === 0) this.nearCache?.set(id, s, epoch);
    return this.withLazy(s);
  }

  /** Overlays this instance's buffered lazy attributes, so a request reads what the previous one set. */
  private withLazy(s: StoredSession): StoredSession {
    const l = this.lazy.get(s.id);
    if (!l) return s;
    const attributes = new Map(s.attributes);
    for (const [f, v] of l.sets) attributes.set(f, v);
    for (const f of l.dels) attributes.delete(f);
    return { ...s, attributes };
  }

  /**
   * Splits out lazy attributes: they are buffered unless something else is written anyway or the
   * buffer is older than the touch interval. Returns the delta to write now (possibly empty).
   */
  mergeLazy(id: string, delta: SessionDelta): SessionDelta {
    const lazyNames = this.options.lazyAttributes;
    const prev = this.lazy.get(id);
    if (lazyNames.size === 0 && !prev) return delta;
    const sets = new Map<string, string>();
    const dels = new Set<string>();
    const lsets = new Map(prev?.sets);
    const ldels = new Set(prev?.dels);
    for (const [f, v] of delta.sets) {
      if (lazyNames.has(f)) {
        lsets.set(f, v);
        ldels.delete(f);
      } else sets.set(f, v);
    }
    for (const f of delta.dels) {
      if (lazyNames.has(f)) {
        ldels.add(f);
        lsets.delete(f);
      } else dels.add(f);
    }
    const since = prev?.since ?? Date.now();
    const regular = sets.size > 0 || dels.size > 0 || delta.idleOverrideMs !== -1;
    if (lsets.size + ldels.size === 0) {
      this.lazy.delete(id);
      return delta;
    }
    if (regular || Date.now() - since >= this.options.touchIntervalMs) {
      this.lazy.delete(id);
      for (const [f, v] of lsets) sets.set(f, v);
      for (const f of ldels) dels.add(f);
      return { sets, dels, idleOverrideMs: delta.idleOverrideMs };
    }
    this.lazy.set(id, { sets: lsets, dels: ldels, since });
    return { sets, dels, idleOverrideMs: -1 };
  }

  /** True when a session has lazy attributes buffered for longer than the touch interval. */
  lazyDue(id: string): boolean {
    if (this.lazy.size === 0) return false;
    const l = this.lazy.get(id);
    return l !== undefined && Date.now() - l.since >= this.options.touchIntervalMs;
  }

  /** Removes and returns the lazy buffer of a session that is about to change id. */
  takeLazy(id: string): { sets: ReadonlyMap<string, string>; dels: ReadonlySet<string> } | undefined {
    const l = this.lazy.get(id);
    this.lazy.delete(id);
    return l;
  }

  /** Flushes every buffered lazy attribute (shutdown). */
  async flushLazy(): Promise<void> {
    const entries = [...this.lazy.entries()];
    this.lazy.clear();
    await Promise.allSettled(entries.map(([id, l]) => this.save(id, { sets: l.sets, dels: l.dels, idleOverrideMs: -1 })));
  }

  /** Creates a session in one command. `createdAt` 0 means now. */
  create(id: string, attributes: ReadonlyMap<string, string>, idleOverrideMs: number, createdAt = 0): Promise<WriteOutcome> {
    const args: (string | number)[] = [...this.base, this.pf, id, createdAt, Math.max(0, idleOverrideMs)];
    for (const [f, v] of attributes) args.push(f, v);
    return this.exec(
      'session create',
      (c) => SCRIPTS.run<number>(c, 'createSession', [this.sessionKey(id), this.indexKey(tagOf(id))], args),
      (reply): WriteOutcome => {
        if (mapScriptReply('createSession', reply) !== 'ok') return 'dropped';
        // Just stamped lastAccessedAt: no touch is due for a whole interval.
        this.touchDueAt.set(id, Date.now() + this.options.touchIntervalMs);
        return 'written';
      },
    );
  }

  private deltaArgs(d: SessionDelta): (string | number)[] {
    const out: (string | number)[] = [d.idleOverrideMs, d.sets.size];
    for (const [f, v] of d.sets) out.push(f, v);
    for (const f of d.dels) if (!d.sets.has(f)) out.push(f);
    return out;
  }

  /** Applies a delta to an existing session in one command; `dropped` if the session is gone. */
  save(id: string, delta: SessionDelta): Promise<WriteOutcome> {
    this.nearCache?.delete(id);
    return this.exec(
      'session save',
      (c) =>
        SCRIPTS.run<number>(c, 'saveSession', [this.sessionKey(id), this.indexKey(tagOf(id))], [
          ...this.base,
          this.options.touchIntervalMs,
          this.pf,
          id,
          ...this.deltaArgs(delta),
        ]),
      (reply): WriteOutcome => {
        // Dropped again once the reply is in: a load that raced this write must not stay cached.
        this.nearCache?.delete(id);
        return mapScriptReply('saveSession', reply) === 'ok' ? 'written' : 'dropped';
      },
    );
  }

  /**
   * Moves a session to `newId` with the delta applied. One atomic script when both ids share a
   * tag or the server is not a Cluster. On a Cluster with different tags (a login that moves the
   * session into its principal's slot) it takes two commands: create the new session from
   * `snapshot`, then destroy the old one.
   */
  async rename(oldId: string, newId: string, delta: SessionDelta, snapshot: () => { attributes: Map<string, string>; createdAt: number; idleOverrideMs: number }): Promise<WriteOutcome> {
    this.forget(oldId);
    if (this.connection.isCluster && tagOf(oldId) !== tagOf(newId)) {
      const s = snapshot();
      const created = await this.create(newId, s.attributes, s.idleOverrideMs, s.createdAt);
      if (created === 'written') await this.destroy(oldId);
      return created;
    }
    const reply = await this.exec('session regenerate', (c) =>
      SCRIPTS.run<number>(
        c,
        'renameSession',
        [this.sessionKey(oldId), this.sessionKey(newId), this.indexKey(tagOf(oldId)), this.indexKey(tagOf(newId))],
        [...this.base, this.pf, oldId, newId, ...this.deltaArgs(delta)],
      ),
    );
    return mapScriptReply('renameSession', reply) === 'ok' ? 'written' : 'dropped';
  }

  /** Deletes a session and its index entry in one command. True if it existed. */
  async destroy(id: string): Promise<boolean> {
    this.forget(id);
    const reply = await this.exec('session invalidate', (c) =>
      SCRIPTS.run<number>(c, 'destroySession', [this.sessionKey(id), this.indexKey(tagOf(id))], [this.pf, id]),
    );
    mapScriptReply('destroySession', reply);
    return reply === 1;
  }

  /** The hash tag a session holding principal `raw` (encoded) must carry. */
  principalTag(raw: string): string {
    return principalTag(raw);
  }

  /** Live sessions of a principal: index members still scored in the future whose key exists. */
  async listByPrincipal(principal: unknown): Promise<{ id: string; expiresAt: number }[]> {
    const raw = this.options.codec.encode(principal);
    const idx = this.indexKey(principalTag(raw));
    return this.connection.run('session list by principal', async (c) => {
      const members = (await c.zrangebyscore(idx, Date.now(), '+inf', 'WITHSCORES')) as string[];
      const found: { id: string; expiresAt: number }[] = [];
      for (let i = 0; i < members.length; i += 2) {
        const m = members[i];
        if (m.slice(ID_LENGTH + 1) === raw && isSessionId(m.slice(0, ID_LENGTH))) found.push({ id: m.slice(0, ID_LENGTH), expiresAt: Number(members[i + 1]) });
      }
      if (found.length === 0) return found;
      // Keys can vanish before their TTL (eviction, FLUSHDB, a failover): verify and prune misses.
      const p = c.pipeline();
      for (const f of found) p.exists(this.sessionKey(f.id));
      const exists = (await p.exec()) ?? [];
      const gone = found.filter((_, i) => exists[i]?.[1] !== 1);
      if (gone.length > 0) await c.zrem(idx, ...gone.map((g) => `${g.id}:${raw}`));
      return found.filter((_, i) => exists[i]?.[1] === 1);
    });
  }

  /** Invalidates every session of a principal ("log out everywhere"). Returns how many were deleted. */
  async invalidateByPrincipal(principal: unknown): Promise<number> {
    let total = 0;
    // A login racing this call may add a session after the listing: loop until the index is empty.
    for (let round = 0; round < 5; round++) {
      const live = await this.listByPrincipal(principal);
      if (live.length === 0) break;
      const deleted = await Promise.all(live.map((s) => this.destroy(s.id)));
      total += deleted.filter(Boolean).length;
    }
    return total;
  }

  /** Finishes in-flight saves and lazy buffers, then closes what tidykv opened. */
  async close(): Promise<void> {
    await this.drain();
    await this.flushLazy().catch(() => undefined);
    await this.nearCache?.close();
    await this.connection.close();
  }
}
