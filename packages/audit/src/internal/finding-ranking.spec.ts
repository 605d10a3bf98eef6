import { describe, expect, it } from '@jest/globals';
import { randomInt } from 'node:crypto';
import type { OrphanFinding } from '../orphan-finding.model.js';
import { compareFindings, keepLargest, rankedFindings } from './finding-ranking.js';

function finding(key: string, deadMembers: number, memoryBytes: number): OrphanFinding {
  return { kind: 'index', key, type: 'set', members: deadMembers, deadMembers, wholeKey: false, memoryBytes, pttl: -1 };
}

describe('keepLargest', () => {
  it('keeps exactly the largest findings of any stream, whatever their order', () => {
    for (let round = 0; round < 20; round++) {
      const all = Array.from({ length: 500 }, (_, i) => finding(`k${i}`, randomInt(50), randomInt(10_000)));
      const kept: OrphanFinding[] = [];
      for (const f of all) keepLargest(kept, f, 25);
      expect(kept).toHaveLength(25);
      expect(rankedFindings(kept)).toEqual([...all].sort(compareFindings).slice(0, 25));
    }
  });

  it('ranks by dead members, then memory, then key name', () => {
    const ranked = rankedFindings([finding('b', 1, 10), finding('a', 1, 10), finding('c', 1, 99), finding('d', 2, 1)]);
    expect(ranked.map((f) => f.key)).toEqual(['d', 'c', 'a', 'b']);
  });

  it('keeps nothing with a limit of 0, and everything below the limit', () => {
    const none: OrphanFinding[] = [];
    keepLargest(none, finding('a', 1, 1), 0);
    expect(none).toEqual([]);
    const some: OrphanFinding[] = [];
    for (const k of ['a', 'b', 'c']) keepLargest(some, finding(k, 1, 1), 10);
    expect(rankedFindings(some).map((f) => f.key)).toEqual(['a', 'b', 'c']);
  });
});
