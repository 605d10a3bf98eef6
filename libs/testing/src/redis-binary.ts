import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/opt/homebrew/bin/redis-server'];

/** How to get a redis-server binary, printed whenever none can be found. */
export const HOW_TO_GET_REDIS =
  'tidykv tests need a real Redis that they start themselves (they never use one they did not start). ' +
  'Run a Docker engine (testcontainers starts redis:7) or install a redis-server binary: ' +
  '`sudo apt-get install -y redis-server redis-tools` on Debian/Ubuntu, `brew install redis` on macOS.';

/** Path of a runnable `redis-server` (REDIS_SERVER_BIN, then PATH, then common locations), or undefined. */
export function findRedisServerBinary(): string | undefined {
  const fromEnv = process.env.REDIS_SERVER_BIN;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const onPath = which.status === 0 ? which.stdout.trim() : '';
  if (onPath) return onPath;
  return CANDIDATES.find((p) => existsSync(p));
}
