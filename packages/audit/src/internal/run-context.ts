import type { RedisConnection } from '@tidykv/core';
import type { AuditRunOptions } from '../audit.options.js';
import { Checkpoint, type CheckpointData, type NodeCursor } from './checkpoint.js';
import { resolveNodes, type NodeSet } from './nodes.js';
import { RateLimiter } from './rate-limiter.js';

/** Everything a command needs while it walks the keyspace. */
export interface RunContext<S> {
  nodes: NodeSet;
  cursors: Record<string, NodeCursor>;
  limiter: RateLimiter;
  checkpoint?: Checkpoint<S>;
  saved?: CheckpointData<S>;
  keysTotal: number;
}

/** Finds the nodes, reads the checkpoint (if any) and counts keys for progress. */
export async function openRun<S>(conn: RedisConnection, command: string, fingerprint: string, o: AuditRunOptions & { replicas: boolean }): Promise<RunContext<S>> {
  const nodes = await resolveNodes(conn, o.replicas);
  try {
    let checkpoint: Checkpoint<S> | undefined;
    let saved: CheckpointData<S> | undefined;
    if (o.checkpoint) ({ checkpoint, saved } = await Checkpoint.open<S>(o.checkpoint, command, fingerprint, nodes.nodes.map((n) => n.id)));
    const sizes = await Promise.all(nodes.nodes.map((n) => conn.run('dbsize', () => n.client.dbsize())));
    return {
      nodes,
      cursors: saved ? structuredClone(saved.nodes) : {},
      limiter: new RateLimiter(o.rate),
      checkpoint,
      saved,
      keysTotal: sizes.reduce((a, b) => a + b, 0),
    };
  } catch (err) {
    await nodes.close();
    throw err;
  }
}

/** 32-bit FNV-1a: a stable per-key coin, so that sampling picks the same keys on every run. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
