import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Paces work to at most `rate` keys per second across every node. Each chunk of keys books the
 * next `n / rate` seconds; a caller that fell behind gets no burst credit, so the average rate
 * never exceeds the limit even after a slow stretch.
 */
export class RateLimiter {
  private next = 0;

  constructor(private readonly rate: number | undefined) {}

  /** Largest chunk to book at once: 1/20 s of work keeps the average within a few percent of the limit. */
  get chunkSize(): number {
    return this.rate === undefined ? Number.POSITIVE_INFINITY : Math.max(1, Math.floor(this.rate / 20));
  }

  /** Waits until `n` more keys may be processed. */
  async take(n: number): Promise<void> {
    if (this.rate === undefined || n <= 0) return;
    const now = performance.now();
    if (this.next < now) this.next = now;
    const wait = this.next - now;
    this.next += (n / this.rate) * 1000;
    if (wait > 0) await sleep(wait);
  }

  /** Waits until the last booked slot has elapsed, so that "N keys in T seconds" holds for the whole run. */
  async drain(): Promise<void> {
    if (this.rate === undefined) return;
    const wait = this.next - performance.now();
    if (wait > 0) await sleep(wait);
  }
}
