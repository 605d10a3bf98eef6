import { describe, expect, it } from '@jest/globals';
import { DeadlineQueue } from './deadline-queue.js';

describe('DeadlineQueue', () => {
  it('holds about the operations in flight, not every operation of the last timeout', () => {
    const q = new DeadlineQueue(30_000);
    let expired = 0;
    try {
      // 100,000 operations settling in order, two in flight at a time, all within one timeout.
      let prev = q.add(() => expired++);
      for (let i = 0; i < 100_000; i++) {
        const next = q.add(() => expired++);
        prev.done = true;
        prev = next;
      }
      const held = (q as unknown as { queue: unknown[]; head: number }).queue.length - (q as unknown as { head: number }).head;
      expect(held).toBeLessThanOrEqual(2);
      expect((q as unknown as { queue: unknown[] }).queue.length).toBeLessThan(3000);
      expect(expired).toBe(0);
    } finally {
      q.close();
    }
  });

  it('still expires an operation that does not settle, behind settled ones', async () => {
    const q = new DeadlineQueue(20);
    const fired: string[] = [];
    try {
      for (let i = 0; i < 2000; i++) q.add(() => fired.push('settled?')).done = true;
      q.add(() => fired.push('late'));
      await new Promise((r) => setTimeout(r, 80));
      expect(fired).toEqual(['late']);
    } finally {
      q.close();
    }
  });
});
