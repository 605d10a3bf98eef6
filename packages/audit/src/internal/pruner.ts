import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import type { RedisConnection } from '@tidykv/core';
import type { ChangeLogEntry, OrphanFinding, PruneCounters } from '../orphan-finding.model.js';
import type { ChangeLog } from './change-log.js';
import type { ScanNode } from './nodes.js';
import { clientFor, existsMany, type Container, type DeadMember, type OrphanActions, type OrphanKey } from './orphan-engine.js';
import { pipelineValues } from './pipeline-replies.js';
import { auditScripts, scriptOutcome, type ScriptOutcome } from './scripts.js';
import { keySlot as slotOf } from '@tidykv/core';

type Op = (target: Redis | Cluster | ChainableCommander) => unknown;

/**
 * Sends `ops` as one pipeline on standalone (one round trip), or concurrently through the Cluster
 * router, where a pipeline may only hold keys of one slot. Replies come back in order.
 */
async function sendAll(conn: RedisConnection, node: ScanNode, ops: Op[]): Promise<unknown[]> {
  if (ops.length === 0) return [];
  if (conn.isCluster) return conn.run('fix', () => Promise.all(ops.map((op) => op(conn.client) as Promise<unknown>)));
  const p = node.client.pipeline();
  for (const op of ops) op(p);
  return pipelineValues(conn, 'fix', p);
}

/**
 * MEMORY USAGE ... SAMPLES 0 of each key (every element counted, not Redis's 5-element estimate),
 * 0 for a key that is gone. Sent to `node` itself: the keys came from its SCAN, so they live there.
 */
async function exactMemory(conn: RedisConnection, node: ScanNode, keys: string[]): Promise<number[]> {
  if (keys.length === 0) return [];
  const p = node.client.pipeline();
  for (const k of keys) p.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
  return (await pipelineValues(conn, 'memory usage', p)).map((v) => (typeof v === 'number' ? v : 0));
}

function resultText(o: ScriptOutcome): string {
  return o === 'done' ? 'done' : o === 'kept' ? 'kept: alive again' : o === 'gone' ? 'gone already' : 'kept: type changed';
}

/**
 * Removes what the orphan engine finds, re-checking each item at removal time:
 *
 * - where the index and the key a member points at share a slot (always on standalone, and for
 *   hash-tagged layouts on Cluster), a Lua script checks and removes in one atomic step;
 * - expired zset members are removed by a script that re-reads their score;
 * - otherwise (a Cluster, where e.g. Spring's `persons` set and `persons:42` live in different
 *   slots, so no script may touch both) the target is re-checked with EXISTS just before the
 *   SREM/ZREM and again right after; a member whose target re-appeared in between is added back
 *   (ZADD NX keeps a newer score). What remains is a window of one round trip during which a live
 *   member is briefly absent from the index; it is never lost.
 */
export class Pruner implements OrphanActions {
  readonly counters: PruneCounters = { membersRemoved: 0, membersKept: 0, membersRestored: 0, keysUnlinked: 0, keysKept: 0, keysUnlinkedBytes: 0, membersRemovedBytes: 0 };
  /** MEMORY USAGE of each index being pruned, taken before its first removal. */
  private readonly memoryBefore = new Map<string, number>();
  /** Keys unlinked (or, in a dry run, due to be) in the current batches, so that `--expire` leaves them alone. */
  readonly unlinked = new Set<string>();

  constructor(
    private readonly conn: RedisConnection,
    private readonly apply: boolean,
    private readonly log: ChangeLog,
    counters?: PruneCounters,
  ) {
    if (counters) Object.assign(this.counters, counters);
    auditScripts.attach(conn.client);
  }

  private entry(e: Omit<ChangeLogEntry, 'at' | 'applied'>): ChangeLogEntry {
    return { at: new Date().toISOString(), applied: this.apply, ...e };
  }

  async onDeadMembers(node: ScanNode, c: Container, dead: DeadMember[]): Promise<void> {
    const entries: ChangeLogEntry[] = [];
    const note = (member: string, outcome: ScriptOutcome | 'restored'): void => {
      if (outcome === 'done') this.counters.membersRemoved++;
      else if (outcome === 'kept' || outcome === 'wrong-type') this.counters.membersKept++;
      entries.push(this.entry({ action: 'remove-member', key: c.key, member, kind: c.kind, result: outcome === 'restored' ? 'done' : resultText(outcome) }));
    };
    if (!this.apply) {
      // The estimate of what removing them frees is made once the index is walked (onContainerDone).
      for (const d of dead) {
        this.counters.membersRemoved++;
        entries.push(this.entry({ action: 'remove-member', key: c.key, member: d.member, kind: c.kind, result: 'dry run' }));
      }
      await this.log.append(entries);
      return;
    }
    const client = clientFor(this.conn, node);
    if (!this.memoryBefore.has(c.key)) this.memoryBefore.set(c.key, (await exactMemory(this.conn, node, [c.key]))[0]);
    const expired = dead.filter((d) => d.reason === 'expired');
    if (expired.length > 0) {
      // The script judges "expired" by the server's TIME again, at removal.
      const reply = await this.conn.run('prune', () => auditScripts.run(client, 'removeExpiredMembers', [c.key], expired.map((d) => d.member)));
      expired.forEach((d, i) => note(d.member, scriptOutcome('removeExpiredMembers', Array.isArray(reply) ? reply[i] : reply)));
    }
    const missing = dead.filter((d) => d.reason === 'missing' && d.target !== undefined);
    const slot = this.conn.isCluster ? slotOf(c.key) : 0;
    const atomic = missing.filter((d) => !this.conn.isCluster || slotOf(d.target!) === slot);
    const guarded = missing.filter((d) => !atomic.includes(d));
    if (atomic.length > 0) {
      let replies: unknown[];
      if (this.conn.isCluster) {
        // Every key here hashes to the container's slot, so one cluster pipeline may carry them all.
        const p = (client as Cluster).pipeline();
        // Queued on the pipeline (run then returns the pipeline, typed as a promise): the replies and
        // their errors come back from exec.
        for (const d of atomic) void auditScripts.run(p, 'removeDeadMember', [c.key, d.target!], [d.member]);
        replies = await pipelineValues(this.conn, 'prune', p);
      } else {
        replies = await sendAll(this.conn, node, atomic.map((d) => (t) => auditScripts.run(t, 'removeDeadMember', [c.key, d.target!], [d.member])));
      }
      atomic.forEach((d, i) => note(d.member, scriptOutcome('removeDeadMember', replies[i])));
    }
    if (guarded.length > 0) await this.pruneAcrossSlots(node, c, guarded, note, entries);
    await this.log.append(entries);
  }

  /**
   * Adds what pruning `c` freed: with `apply`, MEMORY USAGE (SAMPLES 0) before the first removal
   * minus after the last (0 once the index is emptied, which deletes it); in a dry run, the index's
   * memory times its share of dead members. Both are estimates: the app may write to the index
   * meanwhile, and a SET or ZSET that shrinks may keep its encoding's slack.
   */
  async onContainerDone(node: ScanNode, c: Container, finding: OrphanFinding | undefined): Promise<void> {
    if (!this.apply) {
      if (finding && finding.members > 0) {
        const [memory] = await exactMemory(this.conn, node, [c.key]);
        this.counters.membersRemovedBytes += Math.round((memory * finding.deadMembers) / finding.members);
      }
      return;
    }
    const before = this.memoryBefore.get(c.key);
    if (before === undefined) return;
    this.memoryBefore.delete(c.key);
    const [after] = await exactMemory(this.conn, node, [c.key]);
    this.counters.membersRemovedBytes += Math.max(0, before - after);
  }

  private async pruneAcrossSlots(
    node: ScanNode,
    c: Container,
    dead: DeadMember[],
    note: (member: string, outcome: ScriptOutcome | 'restored') => void,
    entries: ChangeLogEntry[],
  ): Promise<void> {
    const before = await existsMany(this.conn, node, dead.map((d) => d.target!));
    const still = dead.filter((d, i) => {
      if (before[i] === 1) note(d.member, 'kept');
      return before[i] === 0;
    });
    if (still.length === 0) return;
    const cluster = this.conn.client;
    const members = still.map((d) => d.member);
    const removed = await this.conn.run('prune', () => (c.type === 'set' ? cluster.srem(c.key, ...members) : cluster.zrem(c.key, ...members)));
    const after = await existsMany(this.conn, node, still.map((d) => d.target!));
    const back = still.filter((_, i) => after[i] === 1);
    for (const d of still) if (!back.includes(d)) note(d.member, 'done');
    if (back.length > 0) {
      if (c.type === 'set') await this.conn.run('restore', () => cluster.sadd(c.key, ...back.map((d) => d.member)));
      else await this.conn.run('restore', () => cluster.zadd(c.key, 'NX', ...back.flatMap((d) => [String(d.score ?? Date.now()), d.member])));
      for (const d of back) {
        this.counters.membersRestored++;
        this.counters.membersKept++;
        entries.push(this.entry({ action: 'restore-member', key: c.key, member: d.member, kind: c.kind, result: 'done: target re-appeared during removal' }));
      }
    }
    // SREM counts what it removed: fewer than asked means some were gone already, which is fine.
    void removed;
  }

  async onOrphanKeys(node: ScanNode, orphans: OrphanKey[]): Promise<void> {
    const entries: ChangeLogEntry[] = [];
    // Measured just before removal (read-only, so in a dry run too): what UNLINK hands back to the allocator.
    const bytes = new Map<string, number>();
    const measured = await exactMemory(this.conn, node, orphans.map((k) => k.key));
    orphans.forEach((k, i) => bytes.set(k.key, measured[i]));
    if (!this.apply) {
      for (const k of orphans) {
        this.counters.keysUnlinked++;
        this.counters.keysUnlinkedBytes += bytes.get(k.key) ?? 0;
        // A dry run of --expire in the same batch must not count keys that pruning would unlink.
        this.unlinked.add(k.key);
        entries.push(this.entry({ action: 'unlink', key: k.key, kind: k.kind, result: 'dry run' }));
      }
      await this.log.append(entries);
      return;
    }
    const note = (k: OrphanKey, o: ScriptOutcome): void => {
      if (o === 'done') {
        this.counters.keysUnlinked++;
        this.counters.keysUnlinkedBytes += bytes.get(k.key) ?? 0;
        this.unlinked.add(k.key);
      } else if (o !== 'gone') this.counters.keysKept++;
      entries.push(this.entry({ action: 'unlink', key: k.key, kind: k.kind, result: resultText(o) }));
    };
    const partial = orphans.filter((k) => k.missingField !== undefined);
    const replies = await sendAll(this.conn, node, partial.map((k) => (t) => auditScripts.run(t, 'unlinkPartialHash', [k.key], [k.missingField!])));
    partial.forEach((k, i) => note(k, scriptOutcome('unlinkPartialHash', replies[i])));
    const dependent = orphans.filter((k) => k.dependsOn !== undefined);
    const atomic = dependent.filter((k) => !this.conn.isCluster || slotOf(k.key) === slotOf(k.dependsOn!));
    const r2 = await sendAll(this.conn, node, atomic.map((k) => (t) => auditScripts.run(t, 'unlinkIfTargetMissing', [k.key, k.dependsOn!], [k.requireNoTtl ? '1' : '0'])));
    atomic.forEach((k, i) => note(k, scriptOutcome('unlinkIfTargetMissing', r2[i])));
    const guarded = dependent.filter((k) => !atomic.includes(k));
    if (guarded.length > 0) {
      // Cross-slot on a Cluster: re-check the main key (and the TTL rule) just before UNLINK.
      const exists = await existsMany(this.conn, node, guarded.map((k) => k.dependsOn!));
      const pttls = await this.conn.run('pttl', () => Promise.all(guarded.map((k) => this.conn.client.pttl(k.key))));
      const go = guarded.filter((k, i) => {
        const ok = exists[i] === 0 && pttls[i] !== -2 && !(k.requireNoTtl && pttls[i] !== -1);
        if (!ok) note(k, pttls[i] === -2 ? 'gone' : 'kept');
        return ok;
      });
      const r3 = await this.conn.run('unlink', () => Promise.all(go.map((k) => this.conn.client.unlink(k.key))));
      go.forEach((k, i) => note(k, r3[i] === 1 ? 'done' : 'gone'));
    }
    await this.log.append(entries);
  }
}
