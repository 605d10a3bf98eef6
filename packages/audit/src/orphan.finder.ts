import type { RedisConnection } from '@tidykv/core';
import { validateOrphanOptions, type OrphanOptions } from './audit.options.js';
import { saveOnError, walkKeyspace } from './internal/keyspace-walker.js';
import { OrphanEngine, type OrphanBatch } from './internal/orphan-engine.js';
import { keepLargest, rankedFindings } from './internal/finding-ranking.js';
import { openRun } from './internal/run-context.js';
import type { OrphanFinding, OrphanKind, OrphanTotals } from './orphan-finding.model.js';

export type { OrphanFinding, OrphanKind, OrphanTotals } from './orphan-finding.model.js';

/** Result of {@link findOrphans}. */
export interface OrphanReport {
  command: 'orphans';
  nodes: string[];
  match: string;
  /** Spring Data keyspaces checked (configured and detected). */
  springDataKeyspaces: string[];
  /** Keys inspected. */
  keysScanned: number;
  /** Exact totals per kind (only kinds with findings). */
  totals: Partial<Record<OrphanKind, OrphanTotals>>;
  /** Number of findings (may exceed `findings.length`, which is capped by `listLimit`). */
  findingsTotal: number;
  /**
   * The `listLimit` largest findings of the whole run, largest first (most dead members, then
   * most memory, then key name). The totals count every finding.
   */
  findings: OrphanFinding[];
  durationMs: number;
  interrupted: boolean;
}

/** Counters shared by `orphans` and `fix`, saved in checkpoints. */
export interface OrphanTally {
  keysScanned: number;
  totals: Partial<Record<OrphanKind, OrphanTotals>>;
  findingsTotal: number;
  /** The `listLimit` largest findings so far (a heap: read it with rankedFindings). */
  findings: OrphanFinding[];
  keyspaces: string[];
}

/** A fresh tally, or the one saved in a checkpoint. */
export function newTally(saved?: OrphanTally): OrphanTally {
  if (!saved) return { keysScanned: 0, totals: {}, findingsTotal: 0, findings: [], keyspaces: [] };
  const tally = structuredClone(saved);
  // Rebuilt as a heap, whatever order the checkpoint kept them in.
  tally.findings = [];
  for (const f of saved.findings) keepLargest(tally.findings, structuredClone(f), Number.POSITIVE_INFINITY);
  return tally;
}

/** Adds one batch's findings to `tally`. */
export function tallyBatch(tally: OrphanTally, batch: OrphanBatch, listLimit: number): void {
  tally.keysScanned += batch.seen.length;
  for (const f of batch.findings) {
    const t = (tally.totals[f.kind] ??= { keys: 0, deadMembers: 0, memoryBytes: 0 });
    t.keys++;
    t.deadMembers += f.deadMembers;
    t.memoryBytes += f.memoryBytes;
    tally.findingsTotal++;
    keepLargest(tally.findings, f, listLimit);
  }
  for (const ks of batch.keyspaces) if (!tally.keyspaces.includes(ks)) tally.keyspaces.push(ks);
}

/**
 * Finds leftovers of Spring Data Redis repositories, Spring Session and tidykv's own indexes:
 * index members pointing at missing keys (or with expiry scores in the past), `:idx` and
 * `:phantom` keys of missing entities, partial session hashes. Each finding carries its count of
 * dead members and its memory. Sends read-only commands only.
 */
export async function findOrphans(conn: RedisConnection, options: OrphanOptions = {}): Promise<OrphanReport> {
  const o = validateOrphanOptions(options);
  const started = performance.now();
  const fingerprint = JSON.stringify({ match: o.match, count: o.count, ns: o.springSessionNamespace, ks: o.springDataKeyspaces, rules: o.indexRules });
  const run = await openRun<OrphanTally>(conn, 'orphans', fingerprint, o);
  try {
    const tally = newTally(run.saved?.state);
    const engine = new OrphanEngine(conn, o, tally.keyspaces, undefined, run.limiter);
    await engine.discover(run.nodes.nodes, o.signal);
    const { interrupted } = await saveOnError(run.checkpoint, run.cursors, () => tally, () =>
      walkKeyspace<OrphanBatch>(
        run.nodes.nodes,
        run.cursors,
        { match: o.match, count: o.count, inflight: o.inflight, limiter: run.limiter, signal: o.signal, guard: (op, fn) => conn.run(op, fn) },
        {
          process: (node, keys) => engine.process(node, keys),
          merge: (_node, batch) => tallyBatch(tally, batch, o.listLimit),
          async committed() {
            await run.checkpoint?.save(run.cursors, tally, 1000);
            o.onProgress?.({ keysSeen: tally.keysScanned, keysTotal: run.keysTotal });
          },
        },
      ),
    );
    if (run.checkpoint) {
      if (interrupted) await run.checkpoint.save(run.cursors, tally);
      else await run.checkpoint.remove();
    }
    return {
      command: 'orphans',
      nodes: run.nodes.nodes.map((n) => n.id),
      match: o.match,
      springDataKeyspaces: [...engine.keyspaces].sort(),
      keysScanned: tally.keysScanned,
      totals: tally.totals,
      findingsTotal: tally.findingsTotal,
      findings: rankedFindings(tally.findings),
      durationMs: Math.round(performance.now() - started),
      interrupted,
    };
  } finally {
    await run.nodes.close();
  }
}
