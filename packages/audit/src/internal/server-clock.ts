import type { RedisConnection } from '@tidykv/core';
import type { ScanNode } from './nodes.js';

/** How long a measured offset is trusted before TIME is asked again. */
const RESYNC_MS = 60_000;

/**
 * The server's clock, per node. Writers score index entries with the server's TIME (tidykv's
 * scripts call TIME), so the auditor judges "expired" by the same clock, not by this machine's:
 * a client clock a minute fast would otherwise call live entries dead. One read of the clock per node, again
 * after a minute; in between, the offset (measured at the middle of the round trip) is added to
 * the local clock.
 */
export class ServerClock {
  private readonly offsets = new Map<string, { offset: number; at: number }>();

  constructor(private readonly conn: RedisConnection) {}

  /** The server time of `node` in ms since the epoch. */
  async now(node: ScanNode): Promise<number> {
    const local = Date.now();
    let o = this.offsets.get(node.id);
    if (!o || local - o.at > RESYNC_MS) {
      const sent = Date.now();
      const server = await this.serverMs(node);
      const back = Date.now();
      o = { offset: server - (sent + back) / 2, at: back };
      this.offsets.set(node.id, o);
    }
    return Math.round(Date.now() + o.offset);
  }

  /**
   * The server's clock from INFO server's `server_time_usec` (Redis >= 6.2): INFO is what the
   * read-only ACL the README recommends allows, and TIME is not in `+@read`. Older servers answer TIME.
   */
  private async serverMs(node: ScanNode): Promise<number> {
    const info = await this.conn.run('info server', () => node.client.info('server'));
    const usec = /server_time_usec:(\d+)/.exec(info)?.[1];
    if (usec !== undefined) return Math.floor(Number(usec) / 1000);
    const [s, us] = await this.conn.run('time', () => node.client.time());
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}
