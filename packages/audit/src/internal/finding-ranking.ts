import type { OrphanFinding } from '../orphan-finding.model.js';

/**
 * Order of findings in reports, largest first: most dead members, then most memory, then key
 * name (so that ties come out the same in every run).
 */
export function compareFindings(a: OrphanFinding, b: OrphanFinding): number {
  return b.deadMembers - a.deadMembers || b.memoryBytes - a.memoryBytes || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

// `kept` is a binary min-heap by compareFindings (its root is the smallest finding kept), stored as
// a plain array so that a checkpoint saves and restores it as JSON.

function smaller(a: OrphanFinding, b: OrphanFinding): boolean {
  return compareFindings(a, b) > 0;
}

function siftUp(h: OrphanFinding[], i: number): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!smaller(h[i], h[parent])) return;
    [h[i], h[parent]] = [h[parent], h[i]];
    i = parent;
  }
}

function siftDown(h: OrphanFinding[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && smaller(h[l], h[m])) m = l;
    if (r < h.length && smaller(h[r], h[m])) m = r;
    if (m === i) return;
    [h[i], h[m]] = [h[m], h[i]];
    i = m;
  }
}

/**
 * Offers `f` to the `limit` largest findings kept in `kept` (a heap; see {@link rankedFindings}
 * to read it). Memory stays at `limit` findings whatever the number found, and the ones kept are
 * the largest of the whole run, not the first in SCAN order. O(log limit) per finding.
 */
export function keepLargest(kept: OrphanFinding[], f: OrphanFinding, limit: number): void {
  if (kept.length < limit) {
    kept.push(f);
    siftUp(kept, kept.length - 1);
  } else if (limit > 0 && smaller(kept[0], f)) {
    kept[0] = f;
    siftDown(kept, 0);
  }
}

/** The findings kept by {@link keepLargest}, largest first. */
export function rankedFindings(kept: readonly OrphanFinding[]): OrphanFinding[] {
  return [...kept].sort(compareFindings);
}
