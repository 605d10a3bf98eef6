import type { RedisConnection } from '@tidykv/core';
import { TidyKvAuditError } from './audit.errors.js';
import { validateFixOptions, type FixOptions } from './audit.options.js';
import { ChangeLog } from './internal/change-log.js';
import { saveOnError, walkKeyspace } from './internal/keyspace-walker.js';
import { OrphanEngine, type OrphanBatch } from './internal/orphan-engine.js';
import { Pruner } from './internal/pruner.js';
import { openRun } from './internal/run-context.js';
import { newTally, tallyBatch, type OrphanTally } from './orphan.finder.js';
import type { ChangeLogEntry, PruneCounters } from './orphan-finding.model.js';

export type { ChangeLogEntry, PruneCounters } from './orphan-finding.model.js';

/** Result of {@link fixLeaks}. In a dry run the counts say what would be done. */
export interface FixReport {
  command: 'fix';
  /** False for a dry run: nothing was changed. */
  apply: boolean;
  nodes: string[];
  match: string;
  /** The JSON-lines change log. */
  logFile: string;
  keysScanned: number;
  /** `--expire`: keys without TTL found, given one (EXPIRE NX replied 1), and skipped (a TTL appeared meanwhile, or the key went). */
  expire?: { seconds: number; keysWithoutTtl: number; expired: number; skipped: number };
  /** `--prune-orphans`: what was removed and kept, and the orphans found. */
  prune?: PruneCounters & { orphans: OrphanTally['totals'] };
  /** Changes made (or, in a dry run, that would be made). */
  changes: number;
  durationMs: number;
  interrupted: boolean;
}

interface FixState {
  tally: OrphanTally;
  prune: PruneCounters;
  expire: { keysWithoutTtl: number; expired: number; skipped: number };
}

interface FixBatch {
  orphans: OrphanBatch;
  expire: { keysWithoutTtl: number; expired: number; skipped: number };
}

async function checkExpireNx(conn: RedisConnection, nodes: { client: import('ioredis').Redis }[]): Promise<void> {
  for (const n of nodes) {
    const info = await conn.run('info server', () => n.client.info('server'));
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    if (!(Number(version.split('.')[0]) >= 7)) throw TidyKvAuditError.unsupported('fix --expire', `redis_version ${version}`);
  }
}

/**
 * Repairs leaks. A dry run unless `apply` is true; every change (or would-be change) is appended
 * to the JSON-lines `logFile`.
 *
 * - `expireSeconds`: keys under `match` without a TTL get one with `EXPIRE key s NX`, so an
 *   existing TTL (even one set a moment ago by the app) is never replaced;
 * - `pruneOrphans`: dead index members are removed in small pipelined batches and orphaned keys
 *   unlinked (UNLINK frees large values in the background), each re-checked at removal time
 *   (atomically in Lua where the keys share a slot; see the README for the Cluster case).
 *
 * Rate-limited, resumable from `checkpoint`, and stops after the current batch on `signal`.
 */
export async function fixLeaks(conn: RedisConnection, options: FixOptions): Promise<FixReport> {
  const o = validateFixOptions(options);
  const started = performance.now();
  const fingerprint = JSON.stringify({
    match: o.match,
    count: o.count,
    apply: o.apply,
    expire: o.expireSeconds ?? null,
    prune: o.pruneOrphans,
    ns: o.springSessionNamespace,
    ks: o.springDataKeyspaces,
    rules: o.indexRules,
  });
  const run = await openRun<FixState>(conn, 'fix', fingerprint, o);
  try {
    if (o.expireSeconds !== undefined) await checkExpireNx(conn, run.nodes.nodes);
    const log = new ChangeLog(o.logFile);
    await log.open();
    const saved = run.saved?.state;
    const tally = newTally(saved?.tally);
    const expire = { ...(saved?.expire ?? { keysWithoutTtl: 0, expired: 0, skipped: 0 }) };
    const pruner = new Pruner(conn, o.apply, log, saved?.prune);
    const engine = new OrphanEngine(conn, o, tally.keyspaces, pruner, run.limiter);
    if (o.pruneOrphans) await engine.discover(run.nodes.nodes, o.signal);
    const state = (): FixState => ({ tally, prune: pruner.counters, expire });

    const { interrupted } = await saveOnError(run.checkpoint, run.cursors, () => state(), () =>
      walkKeyspace<FixBatch>(
        run.nodes.nodes,
        run.cursors,
        { match: o.match, count: o.count, inflight: o.inflight, limiter: run.limiter, signal: o.signal, guard: (op, fn) => conn.run(op, fn) },
        {
          async process(node, keys) {
            const seen = await engine.inspect(node, keys);
            const orphans: OrphanBatch = o.pruneOrphans ? await engine.process(node, keys, seen) : { seen, findings: [], keyspaces: [] };
            const ex = { keysWithoutTtl: 0, expired: 0, skipped: 0 };
            if (o.expireSeconds !== undefined) {
              const seconds = o.expireSeconds;
              const targets = seen.filter((k) => k.pttl === -1 && !pruner.unlinked.has(k.key)).map((k) => k.key);
              ex.keysWithoutTtl = targets.length;
              const entries: ChangeLogEntry[] = [];
              if (o.apply && targets.length > 0) {
                // The keys came from this node's SCAN, so one pipeline to the node carries them all.
                const p = node.client.pipeline();
                for (const k of targets) p.expire(k, seconds, 'NX');
                const replies = (await conn.run('expire', () => p.exec())) ?? [];
                targets.forEach((key, i) => {
                  const [err, v] = replies[i];
                  const done = !err && v === 1;
                  if (done) ex.expired++;
                  else ex.skipped++;
                  entries.push({ at: new Date().toISOString(), action: 'expire', key, seconds, applied: true, result: err ? `error: ${err.message}` : done ? 'done' : 'kept: has a TTL now, or gone' });
                });
              } else {
                for (const key of targets) {
                  ex.expired++;
                  entries.push({ at: new Date().toISOString(), action: 'expire', key, seconds, applied: false, result: 'dry run' });
                }
              }
              await log.append(entries);
            }
            // The set only bridges prune and expire within this batch; keeping it would grow with the keyspace.
            for (const k of seen) pruner.unlinked.delete(k.key);
            return { orphans, expire: ex };
          },
          merge(_node, batch) {
            tallyBatch(tally, batch.orphans, o.listLimit);
            expire.keysWithoutTtl += batch.expire.keysWithoutTtl;
            expire.expired += batch.expire.expired;
            expire.skipped += batch.expire.skipped;
          },
          async committed() {
            await run.checkpoint?.save(run.cursors, state(), 1000);
            o.onProgress?.({ keysSeen: tally.keysScanned, keysTotal: run.keysTotal });
          },
        },
      ),
    );
    if (run.checkpoint) {
      if (interrupted) await run.checkpoint.save(run.cursors, state());
      else await run.checkpoint.remove();
    }
    const c = pruner.counters;
    return {
      command: 'fix',
      apply: o.apply,
      nodes: run.nodes.nodes.map((n) => n.id),
      match: o.match,
      logFile: o.logFile,
      keysScanned: tally.keysScanned,
      ...(o.expireSeconds !== undefined ? { expire: { seconds: o.expireSeconds, ...expire } } : {}),
      ...(o.pruneOrphans ? { prune: { ...c, orphans: tally.totals } } : {}),
      changes: expire.expired + c.membersRemoved + c.keysUnlinked,
      durationMs: Math.round(performance.now() - started),
      interrupted,
    };
  } finally {
    await run.nodes.close();
  }
}
