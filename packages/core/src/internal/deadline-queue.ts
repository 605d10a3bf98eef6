/** One operation's deadline; `done` is set by its owner when it settles first. */
export interface DeadlineEntry {
  readonly at: number;
  done: boolean;
  readonly expire: () => void;
}

/**
 * Deadlines of operations that all get the same timeout. Entries arrive in deadline order, so a
 * FIFO queue is sorted and one timer, armed for the oldest pending entry, serves them all: no
 * timer and no promise race per operation, which matters on the request path (thousands per
 * second). Settled entries are dropped lazily when they reach the head.
 */
export class DeadlineQueue {
  private queue: DeadlineEntry[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  /** Registers an operation issued now; `expire` runs once its deadline passes, unless it is `done` by then. */
  add(expire: () => void): DeadlineEntry {
    // Drop the settled entries at the head now rather than when the timer fires: operations mostly
    // settle in the order they were issued, so the queue then holds about the operations in flight.
    // Otherwise it would hold every operation of the last timeoutMs, each with its closure (and
    // whatever that captures, such as a batch of keys): memory growing with throughput.
    const q = this.queue;
    while (this.head < q.length && q[this.head].done) this.head++;
    if (this.head > 1024 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
    const entry: DeadlineEntry = { at: performance.now() + this.timeoutMs, done: false, expire };
    this.queue.push(entry);
    if (this.timer === undefined) this.arm(this.timeoutMs);
    return entry;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(ms)));
    // Pending deadlines must not keep a process alive that has nothing else to do.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    const q = this.queue;
    while (this.head < q.length) {
      const e = q[this.head];
      if (!e.done && e.at > now) break;
      this.head++;
      if (!e.done) {
        e.done = true;
        e.expire();
      }
    }
    if (this.head === q.length) {
      this.queue = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
    this.arm(this.queue[this.head].at - now);
  }

  /** Stops the timer (connection closed); pending entries are left to their owners. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
