import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { RedisConnection } from '@tidykv/core';
import { startRedis, type RedisTestServer } from '@tidykv/testing';

/** What an audit suite runs against: its own server, a raw client to seed and check it, the auditor's connection and a scratch folder. */
export interface AuditServer {
  server: RedisTestServer;
  client: Redis;
  conn: RedisConnection;
  /** A fresh temporary folder for reports, change logs and checkpoints. */
  dir: string;
  /** Closes the connection and the server and removes the folder. */
  close(): Promise<void>;
}

/**
 * Starts a private redis-server (never one the suite did not start) with what every audit suite
 * needs around it, so the suites share one set-up and one teardown instead of a copy each.
 */
export async function openAuditServer(name: string): Promise<AuditServer> {
  const server = await startRedis({ own: true });
  const conn = RedisConnection.create({ url: server.url });
  const dir = mkdtempSync(join(tmpdir(), `tidykv-audit-${name}-`));
  return {
    server,
    client: server.client(),
    conn,
    dir,
    async close() {
      await conn.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
