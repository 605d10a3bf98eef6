// Runs every benchmark area in turn (they each start their own private redis-server).
// Run them one at a time on a quiet machine: they measure ratios against an incumbent in the same run.
import { spawnSync } from 'node:child_process';

for (const area of ['session', 'repository', 'audit']) {
  console.log(`\n=== bench/${area} ===`);
  const r = spawnSync(process.execPath, [`bench/${area}/run.mjs`], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
