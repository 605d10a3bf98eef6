import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { RedisConnection, TidyKvKeys, tidykvMetrics, type RunOptions, type TidyKvLogger } from '@tidykv/core';
import { mapSessionReply, TidyKvSessionError } from '../session.errors.js';
import type { ResolvedSessionOptions } from '../session.options.js';
import { NearCache } from './near-cache.js';
import { applyDelta, idleAfter } from './session-delta.js';
import { ACCESSED_FIELD, CREATED_FIELD, flatPairs, toStoredSession } from './session-hash.mapper.js';
import { principalTag, tagOf } from './session-id.js';
import type { LoadResult, PrincipalEntry, SessionDelta, SessionRepository, StoredSession, WriteResult } from './session-repository.js';
import * as scripts from './session-scripts.js';
import { TouchSchedule } from './touch-schedule.js';

/** How long an increment's operation token is remembered: far beyond any reconnect and re-send. */
const TOKEN_MEMORY_MS = 60_000;

const READ: RunOptions = {};
// Creates, renames, deltas of absolute values and deletes are idempotent (see each script's header).
const IDEMPOTENT_WRITE: RunOptions = { write: true, idempotent: true };
const WRITE: RunOptions = { write: true };

/**
 * The Redis implementation of {@link SessionRepository}: keys from @tidykv/core's layout, the
 * session scripts, the touch schedule and the near-cache. Every command goes through
 * {@link RedisConnection.run}, so each operation has one deadline and a typed failure.
 */
export class RedisSessionRepository implements SessionRepository {
  readonly keys: TidyKvKeys;
  private readonly main: RedisConnection;
  readonly nearCache: NearCache | undefined;
  /** @internal Also read by the legacy migration, which arms a migrated session's first touch. */
  readonly schedule: TouchSchedule;
  private readonly pf: string;

  constructor(
    private readonly options: ResolvedSessionOptions,
    logger?: TidyKvLogger,
  ) {
    this.keys = new TidyKvKeys(options.keyPrefix, 'SessionModule.keyPrefix');
    this.main = RedisConnection.create(options.connection, 'SessionModule.connection', { connectionName: 'tidykv-session', logger });
    for (const s of scripts.SESSION_SCRIPTS) s.attach(this.main.client);
    this.pf = options.principal ?? '';
    this.schedule = new TouchSchedule(options.touchIntervalMs, options.idleTimeoutMs);
    this.nearCache = options.nearCache ? new NearCache(options.nearCache.max, options.nearCache.maxStalenessMs, this.keys) : undefined;
  }

  /** The connection session commands go over: the near-cache's tracked one while it is on. */
  get connection(): RedisConnection {
    return this.nearCache?.connection ?? this.main;
  }

  /** The connection the module was configured with (health checks, shutdown). */
  get mainConnection(): RedisConnection {
    return this.main;
  }

  /** Starts the near-cache's connections, when configured. */
  async start(): Promise<void> {
    if (!this.nearCache) return;
    await this.nearCache.start(this.main);
    for (const s of scripts.SESSION_SCRIPTS) s.attach(this.connection.client);
  }

  /** @internal Runs one operation on the session connection (one deadline, typed failures). */
  run<T>(operation: string, fn: (c: Redis | Cluster) => Promise<T>, options: RunOptions): Promise<T> {
    return this.connection.run(operation, fn, options);
  }

  /** Waits for every operation in flight (shutdown). */
  async drain(): Promise<void> {
    await this.connection.drain();
    if (this.connection !== this.main) await this.main.drain();
  }

  private timeouts(): scripts.Timeouts {
    return { idleMs: this.options.idleTimeoutMs, absoluteMs: this.options.absoluteTimeoutMs };
  }

  private indexKey(id: string): string {
    return this.keys.principalIndex(tagOf(id));
  }

  private forget(id: string): void {
    this.nearCache?.delete(id);
    this.schedule.forget(id);
  }

  /**
   * One command: a near-cache hit costs none; a plain HGETALL when this process knows no touch is
   * due; otherwise the load script, which touches in the same step.
   */
  load(id: string): Promise<LoadResult | undefined> {
    const cache = this.nearCache;
    const touchDue = this.schedule.isDue(id);
    if (cache && !touchDue) {
      const hit = cache.get(id);
      if (hit) return Promise.resolve({ session: hit, touchedTtlMs: undefined });
    }
    const epoch = cache?.epoch ?? 0;
    const key = this.keys.session(id);
    // Plain .then chains rather than async/await: the read path runs on every request, and each
    // promise costs more once AsyncLocalStorage is on.
    if (!touchDue) {
      return this.run('session load', (c) => c.hgetall(key), READ).then((hash) => {
        const entries = Object.entries(hash);
        if (entries.length === 0) return this.gone(id);
        const session = toStoredSession(id, entries);
        cache?.set(id, session, epoch);
        return { session, touchedTtlMs: undefined };
      });
    }
    return this.run(
      'session load',
      (c) => scripts.loadSession.run(c, { key, index: this.indexKey(id), timeouts: this.timeouts(), touchMs: this.options.touchIntervalMs, principalField: this.pf, id }),
      // The load script's touch is idempotent: lastAccessedAt only moves forwards.
      IDEMPOTENT_WRITE,
    ).then((reply) => {
      if (mapSessionReply('loadSession', reply) !== 'ok') return this.gone(id);
      const arr = reply as unknown[];
      const session = toStoredSession(id, flatPairs(arr, 2));
      const ttl = Number(arr[1]);
      this.schedule.observe(id, Number(arr[0]), session.lastAccessedAt, this.schedule.intervalFor(session.idleTimeoutMs));
      // A touch writes the key, which would come back as an invalidation: only cache untouched reads.
      if (ttl === 0) cache?.set(id, session, epoch);
      return { session, touchedTtlMs: ttl > 0 ? ttl : undefined };
    });
  }

  private gone(id: string): undefined {
    this.forget(id);
    return undefined;
  }

  async create(id: string, attributes: ReadonlyMap<string, string>, idleOverrideMs: number | undefined, createdAt = 0): Promise<WriteResult> {
    const principal = this.pf === '' ? undefined : attributes.get(this.pf);
    const reply = await this.run(
      'session create',
      (c) =>
        scripts.createSession.run(c, {
          key: this.keys.session(id),
          index: this.indexKey(id),
          timeouts: this.timeouts(),
          createdAt,
          idleOverrideMs,
          indexMember: principal === undefined ? '' : this.keys.principalMember(id, principal),
          attributes,
        }),
      IDEMPOTENT_WRITE,
    );
    if (mapSessionReply('createSession', reply) !== 'ok') return { status: 'dropped' };
    const [ttl, created] = (reply as number[]).map(Number);
    this.schedule.touched(id, this.schedule.intervalFor(idleOverrideMs));
    return { status: 'written', ttlMs: ttl, session: { id, attributes: new Map(attributes), createdAt: created, lastAccessedAt: Math.max(created, Date.now()), idleTimeoutMs: idleOverrideMs } };
  }

  /**
   * The common write (nothing but attributes change, no touch due) is saveSessionDelta: one HSET
   * inside the script, and the session keeps its TTL. Otherwise saveSession re-arms the TTL and the
   * index entry, touches when due and applies an idle override change.
   */
  async save(session: StoredSession, delta: SessionDelta): Promise<WriteResult> {
    const id = session.id;
    this.nearCache?.delete(id);
    const principalChanges = this.pf !== '' && (delta.sets.has(this.pf) || delta.dels.has(this.pf));
    const full = delta.idle !== 'keep' || principalChanges || this.schedule.isDue(id);
    const idle = idleAfter(session.idleTimeoutMs, delta.idle);
    const interval = this.schedule.intervalFor(idle);
    const key = this.keys.session(id);
    const reply = await this.run(
      'session save',
      (c) =>
        full
          ? scripts.saveSession.run(c, { key, index: this.indexKey(id), createdAt: session.createdAt, timeouts: this.timeouts(), touchMs: interval, principalField: this.pf, id, delta })
          : scripts.saveSessionDelta.run(c, { key, createdAt: session.createdAt, delta }),
      IDEMPOTENT_WRITE,
    );
    // Dropped again once the reply is in: a load that raced this write must not stay cached.
    this.nearCache?.delete(id);
    if (mapSessionReply('saveSession', reply) !== 'ok') {
      this.forget(id);
      return { status: 'dropped' };
    }
    const ttl = reply as number;
    if (ttl > 0) this.schedule.touched(id, interval);
    return { status: 'written', ttlMs: ttl > 0 ? ttl : undefined, session: { ...session, attributes: applyDelta(session.attributes, delta), idleTimeoutMs: idle } };
  }

  /**
   * One atomic script when both ids share a tag or the server is not a Cluster. On a Cluster with
   * different tags (a login that moves the session into its principal's slot) it is two commands:
   * create the new session with the data, then delete the old one.
   */
  async rename(session: StoredSession, newId: string, delta: SessionDelta): Promise<WriteResult> {
    const oldId = session.id;
    this.forget(oldId);
    if (this.connection.isCluster && tagOf(oldId) !== tagOf(newId)) {
      const created = await this.create(newId, applyDelta(session.attributes, delta), idleAfter(session.idleTimeoutMs, delta.idle), session.createdAt);
      if (created.status === 'written') await this.destroy(oldId);
      return created;
    }
    const reply = await this.run(
      'session regenerate',
      (c) =>
        scripts.renameSession.run(c, {
          oldKey: this.keys.session(oldId),
          newKey: this.keys.session(newId),
          oldIndex: this.indexKey(oldId),
          newIndex: this.indexKey(newId),
          timeouts: this.timeouts(),
          principalField: this.pf,
          oldId,
          newId,
          delta,
        }),
      IDEMPOTENT_WRITE,
    );
    if (mapSessionReply('renameSession', reply) !== 'ok') return { status: 'dropped' };
    const [ttl, created] = (reply as number[]).map(Number);
    const idle = idleAfter(session.idleTimeoutMs, delta.idle);
    this.schedule.touched(newId, this.schedule.intervalFor(idle));
    return {
      status: 'written',
      ttlMs: ttl,
      session: { id: newId, attributes: applyDelta(session.attributes, delta), createdAt: created, lastAccessedAt: Math.max(session.lastAccessedAt, Date.now()), idleTimeoutMs: idle },
    };
  }

  /**
   * HINCRBY in the session's hash, only if it exists. One inner call on tidykv's own connections;
   * guarded by an operation token when the client re-sends unanswered commands by itself (an
   * app-owned client with ioredis's defaults), so that a re-send never adds twice.
   */
  async increment(session: StoredSession, name: string, by: number): Promise<number | undefined> {
    const id = session.id;
    this.nearCache?.delete(id);
    const key = this.keys.session(id);
    const once = this.connection.resendsUnanswered;
    // One token per increment, not per attempt: a retry after a dropped connection must be
    // recognised as the same operation, or an increment Redis ran before the drop is run again.
    const tokenKey = once ? this.keys.sessionOperation(id, randomBytes(12).toString('base64url')) : '';
    const reply = await this.run(
      'session increment',
      (c) =>
        once
          ? scripts.incrementAttributeOnce.run(c, {
              key,
              tokenKey,
              field: name,
              by,
              rememberMs: TOKEN_MEMORY_MS,
            })
          : scripts.incrementAttribute.run(c, { key, field: name, by }),
      // The token makes the guarded variant safe to run again; the plain one is not.
      once ? IDEMPOTENT_WRITE : WRITE,
    ).catch((err: unknown) => {
      throw err instanceof Error && /not an integer|overflow/.test(err.message) ? TidyKvSessionError.notAnInteger(name, err) : err;
    });
    this.nearCache?.delete(id);
    if (mapSessionReply('incrementAttribute', reply) !== 'ok') {
      this.forget(id);
      return undefined;
    }
    return Number((reply as unknown[])[0]);
  }

  /** Deletes a session: a plain UNLINK without the principal index, the destroy script with it. */
  async destroy(id: string): Promise<boolean> {
    this.forget(id);
    const key = this.keys.session(id);
    const reply =
      this.pf === ''
        ? await this.run('session invalidate', (c) => c.unlink(key), IDEMPOTENT_WRITE)
        : await this.run('session invalidate', (c) => scripts.destroySession.run(c, { key, index: this.indexKey(id), principalField: this.pf, id }), IDEMPOTENT_WRITE);
    return reply === 1;
  }

  /** Live sessions of a principal: index members scored in the future (server clock) whose key exists. */
  async listByPrincipal(rawPrincipal: string): Promise<PrincipalEntry[]> {
    const idx = this.keys.principalIndex(principalTag(rawPrincipal));
    return this.run(
      'session list by principal',
      async (c) => {
        const members = (await scripts.listPrincipalSessions.run(c, { index: idx })) as string[];
        const candidates: { id: string; expiresAt: number }[] = [];
        for (let i = 0; i < members.length; i += 2) {
          const m = this.keys.parsePrincipalMember(members[i]);
          if (m && m.rawPrincipal === rawPrincipal) candidates.push({ id: m.id, expiresAt: Number(members[i + 1]) });
        }
        if (candidates.length === 0) return [];
        // Keys can vanish before their TTL (eviction, FLUSHDB, a failover): read each one's times,
        // which proves it exists, and drop the misses from the index. One pipeline, one slot.
        const p = c.pipeline();
        for (const f of candidates) p.hmget(this.keys.session(f.id), CREATED_FIELD, ACCESSED_FIELD);
        const replies = (await p.exec()) ?? [];
        const found: PrincipalEntry[] = [];
        const gone: string[] = [];
        candidates.forEach((f, i) => {
          const [err, times] = replies[i] ?? [new Error('no reply')];
          if (err) throw err;
          const [created, offset] = times as (string | null)[];
          if (created === null) gone.push(this.keys.principalMember(f.id, rawPrincipal));
          else found.push({ ...f, createdAt: Number(created), lastAccessedAt: Number(created) + Number(offset ?? 0) });
        });
        if (gone.length > 0) {
          await c.zrem(idx, ...gone);
          tidykvMetrics().indexPrunes.add(gone.length, { index: 'principal' });
        }
        return found;
      },
      // Pruning members of vanished sessions is idempotent.
      IDEMPOTENT_WRITE,
    );
  }

  /** Closes what tidykv opened. */
  async close(): Promise<void> {
    await this.drain();
    await this.nearCache?.close();
    await this.main.close();
  }
}
