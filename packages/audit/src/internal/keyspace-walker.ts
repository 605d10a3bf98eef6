import { RedisUnavailableError, TidyKvError, isConnectionError } from '@tidykv/core';
import type { Checkpoint, NodeCursor } from './checkpoint.js';
import type { ScanNode } from './nodes.js';
import type { RateLimiter } from './rate-limiter.js';

/** How to walk: the SCAN arguments and the limits every command shares. */
export interface WalkSettings {
  match: string;
  /** SCAN ... TYPE filter, or undefined for every type. */
  type?: string;
  count: number;
  /** SCAN COUNT for the next call on `node`, when it changes during the walk (blocking budget); default `count`. */
  scanCount?(node: ScanNode): number;
  /** Batches in flight per node, so that SCAN round trips overlap with the batch pipelines. */
  inflight: number;
  limiter: RateLimiter;
  signal?: AbortSignal;
  /** Runs one Redis call with the connection's timeout and error mapping (`RedisConnection.run`). */
  guard<T>(operation: string, fn: () => Promise<T>): Promise<T>;
}

/** What the caller does with each batch of keys. */
export interface WalkHandler<R> {
  /** Works on one batch (keys all on `node`); may run concurrently with other batches. */
  process(node: ScanNode, keys: string[]): Promise<R>;
  /**
   * Merges one processed chunk into the run's results. Called in SCAN order per node, for every
   * chunk of a SCAN reply at once when the whole reply is processed, synchronously together with
   * the cursor update: a checkpoint taken at any moment sees both or neither.
   */
  merge(node: ScanNode, result: R): void;
  /** Called after each merged SCAN reply (cursors updated): save the checkpoint, report progress. */
  committed(node: ScanNode): Promise<void>;
}

interface Pending<R> {
  next: string;
  last: boolean;
  result: Promise<{ ok: true; value: R } | { ok: false; error: unknown }>;
}

/**
 * Walks every node's keyspace with SCAN (never KEYS), resuming from `cursors`, which it updates as
 * batches commit. Stops after the current SCAN reply when `signal` aborts; returns whether it was
 * interrupted. A SCAN reply is split into chunks the rate limiter can pace, but a stop never falls
 * between two chunks of one reply, since the cursor can only express whole replies.
 */
export async function walkKeyspace<R>(
  nodes: ScanNode[],
  cursors: Record<string, NodeCursor>,
  settings: WalkSettings,
  handler: WalkHandler<R>,
): Promise<{ interrupted: boolean }> {
  let interrupted = false;
  await Promise.all(
    nodes.map(async (node) => {
      const state = (cursors[node.id] ??= { cursor: '0', done: false });
      if (state.done) return;
      const pending: Pending<R>[] = [];
      let failed = false;
      // Chunks of a SCAN reply are merged only once the whole reply is processed: the cursor can
      // only express whole replies, so a checkpoint must never hold half of one.
      let held: R[] = [];
      const settle = async (): Promise<void> => {
        const p = pending.shift()!;
        const r = await p.result;
        // After a failed batch nothing later may commit: its cursor would skip the failed keys.
        if (failed) return;
        if (!r.ok) {
          failed = true;
          throw r.error;
        }
        held.push(r.value);
        if (!p.last) return;
        // No await from here to the cursor update: other nodes' checkpoints must not see half of it.
        for (const v of held) handler.merge(node, v);
        held = [];
        state.cursor = p.next;
        state.done = p.next === '0';
        await handler.committed(node);
      };
      let error: { err: unknown } | undefined;
      try {
        let cursor = state.cursor;
        for (;;) {
          if (settings.signal?.aborted) {
            interrupted = true;
            break;
          }
          const args: (string | number)[] = [cursor, 'MATCH', settings.match, 'COUNT', settings.scanCount?.(node) ?? settings.count];
          if (settings.type) args.push('TYPE', settings.type);
          const [next, keys] = (await settings.guard('scan', () => node.client.call('SCAN', ...args))) as [string, string[]];
          const size = settings.limiter.chunkSize;
          const chunks: string[][] = [];
          for (let i = 0; i < keys.length; i += size) chunks.push(keys.slice(i, i + size));
          if (chunks.length === 0) chunks.push([]);
          for (let i = 0; i < chunks.length; i++) {
            await settings.limiter.take(chunks[i].length);
            const result = handler.process(node, chunks[i]).then(
              (value) => ({ ok: true as const, value }),
              // Pipelined replies carry their own errors, which reach here unmapped: a dropped
              // connection must still surface as RedisUnavailableError, like every other call.
              (error: unknown) => ({ ok: false as const, error: isConnectionError(error) && !(error instanceof TidyKvError) ? new RedisUnavailableError('batch', error) : error }),
            );
            pending.push({ next, last: i === chunks.length - 1, result });
            while (pending.length >= settings.inflight) await settle();
          }
          cursor = next;
          if (next === '0') break;
        }
      } catch (err) {
        error = { err };
      }
      // Finish what was started (a stop waits for the current batch); after an error, only wait.
      while (pending.length > 0) {
        try {
          await settle();
        } catch (err) {
          error ??= { err };
        }
      }
      if (error) throw error.err instanceof Error ? error.err : new Error(String(error.err));
    }),
  );
  // Pacing books time before each chunk; waiting out the last booking makes "at most `rate` keys
  // per second" hold for the run as a whole, not just between chunks.
  if (!interrupted) await settings.limiter.drain();
  return { interrupted };
}

/**
 * Runs a walk and, if it fails (Redis gone, a timeout), saves the checkpoint as of the last
 * committed batch before rethrowing, so that the rerun resumes there instead of starting over.
 */
export async function saveOnError<S, T>(checkpoint: Checkpoint<S> | undefined, cursors: Record<string, NodeCursor>, state: () => S, walk: () => Promise<T>): Promise<T> {
  try {
    return await walk();
  } catch (err) {
    // The original error matters more than a failure to save.
    await checkpoint?.save(cursors, state()).catch(() => undefined);
    throw err;
  }
}
