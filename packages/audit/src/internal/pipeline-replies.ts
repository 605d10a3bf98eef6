import type { ChainableCommander } from 'ioredis';
import type { RedisConnection } from '@tidykv/core';

/**
 * Runs `pipeline` and returns its values in order. A per-command error (WRONGTYPE because a key
 * changed type between inspection and check, OOM, a missing ACL permission) is thrown, never
 * read as a value: a leak detector that took an error for "0" would call live data dead.
 */
export async function pipelineValues(conn: RedisConnection, op: string, pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = (await conn.run(op, () => pipeline.exec())) ?? [];
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
