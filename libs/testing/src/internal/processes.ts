import type { ChildProcess } from 'node:child_process';

// Every redis-server a fixture spawns is registered here so that a crashed or forgotten test
// never leaves a server behind: the exit hook is synchronous, which is all `process.on('exit')` allows.
const live = new Set<ChildProcess>();
let hooked = false;

export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}
