import type { Redis } from 'ioredis';

/**
 * Commands sent by clients (round trips) while `fn` runs, read with MONITOR: lines that Redis marks
 * as coming from Lua (`redis.call` inside a script) are left out, so a script counts as one
 * command (its EVALSHA or EVAL). `monitorClient` must be a fresh client on the server under test;
 * it is put in MONITOR mode and closed. Run on a server no other test shares.
 */
export async function countClientCommands<T>(monitorClient: Redis, fn: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const monitor = await monitorClient.monitor();
  const seen: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    seen.push(args.join(' '));
  });
  try {
    const result = await fn();
    // MONITOR lines arrive asynchronously: a PING from another connection marks the end.
    const marker = monitorClient.duplicate();
    await marker.ping('tidykv-count-end');
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (seen.some((c) => c.includes('tidykv-count-end'))) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
    marker.disconnect();
    const commands = seen.filter((c) => !c.includes('tidykv-count-end') && !/^(info|client|select|hello|ping)\b/i.test(c));
    return { result, commands };
  } finally {
    monitor.disconnect();
  }
}
