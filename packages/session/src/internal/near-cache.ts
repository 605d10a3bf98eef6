import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { StoredSession } from './stored-session.js';

const CHANNEL = '__redis__:invalidate';

/**
 * Loaded sessions kept in process. Other instances' writes reach it through Redis client tracking in
 * broadcast mode (CLIENT TRACKING ... BCAST PREFIX <session prefix>, redirected to a subscriber
 * connection), so a write costs no extra command. `maxStalenessMs` bounds the damage of a lost
 * invalidation message (Pub/Sub is at-most-once); a broken link empties the cache and disables it
 * until tracking is re-armed.
 */
export class NearCache {
  private readonly lru: LRUCache<string, StoredSession>;
  private sub?: Redis;
  private tracker?: Redis;
  private ready = false;
  private closing = false;
  /** Bumped on every invalidation: a load that saw it change meanwhile must not cache its reply. */
  epoch = 0;

  constructor(
    max: number,
    maxStalenessMs: number,
    private readonly sessionKeyPrefix: string,
    private readonly idOfKey: (key: string) => string | undefined,
  ) {
    this.lru = new LRUCache<string, StoredSession>({ max, ttl: maxStalenessMs, ttlAutopurge: false });
  }

  /** Opens the two extra connections and arms tracking. */
  async start(client: Redis): Promise<void> {
    // RESP2 on purpose: under RESP3 invalidations arrive as push frames, which ioredis drops.
    this.sub = client.duplicate({ connectionName: 'tidykv-session-invalidations', protocol: 2, enableOfflineQueue: true });
    this.tracker = client.duplicate({ connectionName: 'tidykv-session-tracking', enableOfflineQueue: true });
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
    this.tracker.on('error', () => undefined);
    this.sub.on('close', lost);
    this.tracker.on('close', lost);
    // A reconnect gives the subscriber a new client id and the tracker a fresh connection: re-arm both.
    const rearm = (): void => {
      if (!this.closing && !this.ready) void this.arm().catch(() => undefined);
    };
    this.sub.on('ready', rearm);
    this.tracker.on('ready', rearm);
    await this.arm();
  }

  private async arm(): Promise<void> {
    const sub = this.sub as Redis;
    const tracker = this.tracker as Redis;
    const subId = (await sub.call('CLIENT', 'ID')) as number;
    await sub.subscribe(CHANNEL);
    await tracker.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(subId), 'BCAST', 'PREFIX', this.sessionKeyPrefix);
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
      const id = this.idOfKey(String(k));
      if (id !== undefined) this.lru.delete(id);
    }
  }

  /** The cached session, unless tracking is down or the entry is older than the staleness bound. */
  get(id: string): StoredSession | undefined {
    return this.ready ? this.lru.get(id) : undefined;
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

  async close(): Promise<void> {
    this.closing = true;
    this.ready = false;
    this.clear();
    await Promise.all(
      [this.sub, this.tracker].map(async (c) => {
        if (!c || c.status === 'end') return;
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
  }
}
