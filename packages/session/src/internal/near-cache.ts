import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { tidykvMetrics, type RedisConnection, type TidyKvKeys } from '@tidykv/core';
import type { StoredSession } from './session-repository.js';

const CHANNEL = '__redis__:invalidate';

/**
 * Loaded sessions kept in process, invalidated through Redis client tracking in default mode:
 * the server remembers which keys the tracked connection read and, when one of them changes,
 * notifies only the instances that read it (redirected to a subscriber connection). Broadcast mode
 * (BCAST PREFIX) would instead push every session write to every instance, so the cost of a write
 * would grow with the number of instances. NOLOOP spares the connection its own writes.
 *
 * Every session command of the instance goes over the tracked connection ({@link connection}), so
 * only session reads are tracked. `maxStalenessMs` bounds the damage of a lost invalidation
 * (Pub/Sub is at-most-once); a broken link empties the cache and disables it until tracking is
 * re-armed.
 */
export class NearCache {
  private readonly lru: LRUCache<string, StoredSession>;
  private sub?: Redis;
  private tracked?: RedisConnection;
  private ready = false;
  private closing = false;
  private hits = 0;
  private misses = 0;
  /** Bumped on every invalidation: a load that saw it change meanwhile must not cache its reply. */
  epoch = 0;

  constructor(
    max: number,
    maxStalenessMs: number,
    private readonly keys: TidyKvKeys,
  ) {
    this.lru = new LRUCache<string, StoredSession>({ max, ttl: maxStalenessMs, ttlAutopurge: false });
  }

  /** The connection every session command goes over while the cache is on. */
  get connection(): RedisConnection | undefined {
    return this.tracked;
  }

  /** Opens the tracked connection and the subscriber, and arms tracking. */
  async start(main: RedisConnection): Promise<void> {
    this.tracked = main.duplicate('tidykv-session-tracked');
    // RESP2 on purpose: under RESP3 invalidations arrive as push frames, which ioredis drops.
    this.sub = (main.client as Redis).duplicate({ connectionName: 'tidykv-session-invalidations', protocol: 2, enableOfflineQueue: true, autoResendUnfulfilledCommands: true });
    // messageBuffer keeps the payload's shape: an array of keys, or null after FLUSHDB/FLUSHALL.
    this.sub.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() === CHANNEL) this.onInvalidate(message);
    });
    const lost = (): void => {
      this.ready = false;
      this.clear();
    };
    // Outages surface through the data connection's typed errors; here they only disable the cache.
    this.sub.on('error', () => undefined);
    this.sub.on('close', lost);
    this.tracked.client.on('close', lost);
    // A reconnect gives the subscriber a new client id and the tracked connection a fresh
    // connection without tracking: re-arm both.
    const rearm = (): void => {
      if (!this.closing && !this.ready) void this.arm().catch(() => undefined);
    };
    this.sub.on('ready', rearm);
    this.tracked.client.on('ready', rearm);
    await this.arm();
  }

  private async arm(): Promise<void> {
    const sub = this.sub as Redis;
    const tracked = this.tracked as RedisConnection;
    const subId = (await sub.call('CLIENT', 'ID')) as number;
    await sub.subscribe(CHANNEL);
    await tracked.run('near-cache tracking', (c) => c.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(subId), 'NOLOOP'));
    // Reads answered before tracking was on were not tracked: bumping the epoch keeps them out.
    this.clear();
    this.ready = true;
  }

  private onInvalidate(message: unknown): void {
    this.epoch++;
    // A null payload means FLUSHDB/FLUSHALL: everything is stale.
    if (message === null || message === undefined || (Buffer.isBuffer(message) && message.length === 0)) {
      this.clear();
      return;
    }
    const keys = Array.isArray(message) ? message : [message];
    for (const k of keys) {
      const id = this.keys.sessionIdOf(String(k));
      if (id !== undefined) this.lru.delete(id);
    }
  }

  /** The cached session, unless tracking is down or the entry is older than the staleness bound. */
  get(id: string): StoredSession | undefined {
    const s = this.ready ? this.lru.get(id) : undefined;
    if (s) this.hits++;
    else this.misses++;
    tidykvMetrics().nearCache.add(1, { result: s ? 'hit' : 'miss' });
    return s;
  }

  /** Caches a load, unless an invalidation arrived while it was in flight. */
  set(id: string, s: StoredSession, epochAtStart: number): void {
    if (this.ready && epochAtStart === this.epoch) this.lru.set(id, s);
  }

  /** Drops one session (this instance wrote it). */
  delete(id: string): void {
    this.epoch++;
    this.lru.delete(id);
  }

  clear(): void {
    this.epoch++;
    this.lru.clear();
  }

  /** Number of cached sessions. */
  get size(): number {
    return this.lru.size;
  }

  /** Hits and misses since start (for metrics). */
  get stats(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.ready = false;
    this.clear();
    const sub = this.sub;
    if (sub && sub.status !== 'end') {
      try {
        await sub.quit();
      } catch {
        sub.disconnect();
      }
    }
    await this.tracked?.close();
  }
}
