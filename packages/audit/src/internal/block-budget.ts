/**
 * Keeps each command the scan sends within a blocking budget. Redis runs one command at a time,
 * so a command that takes 4 ms delays every other client by up to 4 ms; the budget bounds that.
 *
 * - The scan's scripts report their own run time; the next call's key count is sized so that it
 *   should take `share` of the budget (the rest is the margin for a slower stretch). The cost per
 *   key is tracked with an average that rises at once on a slow call and falls slowly.
 * - A SCAN sent on its own (Cluster, Redis < 7) cannot time itself: its cost per call is read from
 *   `INFO commandstats` deltas (see {@link ScanCountControl}).
 */
export class BlockBudget {
  private perKeyUs: number;
  /** Longest script run seen, in µs (reported). */
  maxCallUs = 0;
  /** Script calls made. */
  calls = 0;

  /**
   * @param budgetMs - the budget per command.
   * @param maxKeys - never more keys per call than this (the SCAN COUNT hint).
   * @param initialPerKeyUs - first guess of the cost per key, deliberately high so the first call is small.
   * @param share - the share of the budget a call aims at; the rest is the margin for a slower stretch.
   */
  constructor(
    readonly budgetMs: number,
    private readonly maxKeys: number,
    initialPerKeyUs = 5,
    readonly share = 0.5,
  ) {
    this.perKeyUs = initialPerKeyUs;
  }

  /** The µs a call should take: `share` of the budget. */
  get targetUs(): number {
    return this.budgetMs * 1000 * this.share;
  }

  /** Keys to send in the next script call. */
  get keysPerCall(): number {
    return Math.max(1, Math.min(this.maxKeys, Math.floor(this.targetUs / this.perKeyUs)));
  }

  /** Records one script call of `keys` keys that ran `us` µs on the server. */
  record(keys: number, us: number): void {
    if (keys <= 0 || !Number.isFinite(us)) return;
    this.calls++;
    this.maxCallUs = Math.max(this.maxCallUs, us);
    const sample = Math.max(us, 1) / keys;
    // Up at once (a slow call must not repeat), down gently (one fast call proves little).
    this.perKeyUs = sample > this.perKeyUs ? sample : 0.8 * this.perKeyUs + 0.2 * sample;
  }
}

/**
 * Lowers the SCAN COUNT of one node when SCAN calls cost more than half the budget, and raises it
 * back (never above the configured COUNT) when they cost less than a quarter. Fed from
 * `INFO commandstats` (`cmdstat_scan:calls=..,usec=..`) at most once a second; the deltas include
 * other clients' SCANs, which only makes the control more careful.
 */
export class ScanCountControl {
  count: number;
  private last?: { calls: number; usec: number };
  private lastAt = 0;
  /** Highest SCAN µs per call seen over one interval (reported). */
  maxUsPerCall = 0;

  constructor(
    readonly budgetMs: number,
    private readonly maxCount: number,
  ) {
    this.count = maxCount;
  }

  /** True when it is time to read commandstats again. */
  due(now = performance.now()): boolean {
    return now - this.lastAt >= 1000;
  }

  /** Feeds one `INFO commandstats` reply. */
  update(info: string, now = performance.now()): void {
    this.lastAt = now;
    const m = /cmdstat_scan:calls=(\d+),usec=(\d+)/.exec(info);
    if (!m) return;
    const cur = { calls: Number(m[1]), usec: Number(m[2]) };
    const prev = this.last;
    this.last = cur;
    if (!prev || cur.calls <= prev.calls) return;
    const perCall = (cur.usec - prev.usec) / (cur.calls - prev.calls);
    this.maxUsPerCall = Math.max(this.maxUsPerCall, perCall);
    const target = this.budgetMs * 500;
    if (perCall > target) this.count = Math.max(10, Math.floor((this.count * target) / perCall));
    else if (perCall < target / 2) this.count = Math.min(this.maxCount, this.count * 2);
  }
}
