import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { closeClient } from './internal/close-client.js';
import { freePort } from './internal/free-port.js';
import { track } from './internal/processes.js';
import { RedisProcess } from './redis-process.js';
import { eventually } from './keys.helper.js';
import { findRedisServerBinary, HOW_TO_GET_REDIS } from './redis-binary.js';

/** A master watched by one Sentinel. Always call {@link RedisTestSentinel.close} in `afterAll`. */
export interface RedisTestSentinel {
  /** The monitored master group name. */
  readonly name: string;
  readonly master: RedisProcess;
  /** Sentinel addresses, for ioredis `sentinels`. */
  readonly sentinels: { host: string; port: number }[];
  close(): Promise<void>;
}

/**
 * Starts a master and one Sentinel monitoring it as `name` (quorum 1), and resolves once the
 * Sentinel reports the master's address. Sentinel rewrites its config file, so it gets its own.
 */
export async function startRedisSentinel(name = 'mymaster'): Promise<RedisTestSentinel> {
  const binary = findRedisServerBinary();
  if (!binary) throw new Error(HOW_TO_GET_REDIS);
  const master = await RedisProcess.start();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tidykv-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`, `sentinel down-after-milliseconds ${name} 2000`, ''].join('\n'),
  );
  const child = spawn(binary, [conf, '--sentinel'], { stdio: 'ignore' });
  track(child);
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
  probe.on('error', () => undefined); // refused until the Sentinel listens; the loop below retries
  try {
    await eventually(async () => {
      try {
        if (probe.status === 'wait') await probe.connect();
        const addr = (await probe.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[] | null;
        return Array.isArray(addr) && Number(addr[1]) === master.port;
      } catch {
        return false;
      }
    }, 10_000, `Sentinel on port ${port} to report master ${name}`);
  } finally {
    await closeClient(probe);
  }
  return {
    name,
    master,
    sentinels: [{ host: '127.0.0.1', port }],
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await master.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
