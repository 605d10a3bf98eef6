import { Redis } from 'ioredis';
import { closeClient } from './internal/close-client.js';

/** Where a fault is injected: a `RedisProcess`, a `RedisTestServer` or any `{ host, port }`. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

// Fault commands go over a connection of their own: the connections under test must not carry
// them (a paused or killed connection would swallow its own fault), and they must never be
// queued or re-sent by ioredis (a re-sent CLIENT PAUSE would pause the server a second time).
function adminClient(at: RedisAddress): Redis {
  const c = new Redis({
    host: at.host,
    port: at.port,
    connectionName: 'tidykv-fault-injector',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  return c;
}

async function withAdmin<T>(at: RedisAddress, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = adminClient(at);
  try {
    await c.connect();
    return await fn(c);
  } finally {
    // No QUIT: under CLIENT PAUSE ALL the pausing connection's own QUIT would wait out the pause.
    const ended = new Promise<void>((resolve) => c.once('end', () => resolve()));
    c.disconnect();
    await Promise.race([ended, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}

/**
 * `CLIENT PAUSE <ms> <mode>`: Redis stops serving other clients (`'ALL'`) or their writes and
 * scripts (`'WRITE'`) for `ms`, holding their commands unanswered, then runs them. Resolves as
 * soon as the pause is in force (Redis answers the pausing connection at once).
 */
export async function pauseClients(at: RedisAddress, ms: number, mode: 'ALL' | 'WRITE' = 'ALL'): Promise<void> {
  await withAdmin(at, (c) => c.call('CLIENT', 'PAUSE', String(Math.round(ms)), mode));
}

/**
 * `DEBUG SLEEP`: the whole server blocks for `ms` (no command, no connection, no expiry), as a
 * slow command or a fork on a large dataset would. Resolves when the server answers again, with
 * how long it was blocked as this process saw it. The server needs `allowDebug` (Redis 7 refuses
 * DEBUG by default).
 */
export async function debugSleep(at: RedisAddress, ms: number): Promise<number> {
  return withAdmin(at, async (c) => {
    const started = performance.now();
    await c.call('DEBUG', 'SLEEP', (ms / 1000).toFixed(3));
    return performance.now() - started;
  });
}

/** The ids of the connections whose CLIENT SETNAME is `name`, from CLIENT LIST. */
export async function connectionIds(c: Redis, name: string): Promise<string[]> {
  const list = (await c.call('CLIENT', 'LIST')) as string;
  const ids: string[] = [];
  for (const line of list.split('\n')) {
    const fields = new Map(line.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const));
    if (fields.get('name') === name && fields.has('id')) ids.push(fields.get('id') as string);
  }
  return ids;
}

/** Kills every connection named `name` once (CLIENT KILL ID each); resolves to how many it killed. */
export async function killConnections(at: RedisAddress, name: string): Promise<number> {
  return withAdmin(at, (c) => killNamed(c, name));
}

async function killNamed(c: Redis, name: string): Promise<number> {
  const ids = await connectionIds(c, name);
  if (ids.length === 0) return 0;
  const p = c.pipeline();
  // Redis 7.0 has no CLIENT KILL by name: kill each id (a connection gone meanwhile replies an error).
  for (const id of ids) p.call('CLIENT', 'KILL', 'ID', id);
  const replies = (await p.exec()) ?? [];
  return replies.filter(([err, n]) => !err && Number(n) > 0).length;
}

/** What a {@link ConnectionKiller} did. */
export interface ConnectionKillReport {
  /** Rounds run (one CLIENT LIST and the kills it called for, every `everyMs`). */
  readonly rounds: number;
  /** Connections killed over all rounds. */
  readonly killed: number;
}

/** A running periodic CLIENT KILL; stop it before the servers and apps it targets. */
export interface ConnectionKiller {
  /** Connections killed so far. */
  readonly killed: number;
  /** Stops killing, waits for a round in progress, and reports. */
  stop(): Promise<ConnectionKillReport>;
}

/**
 * Kills the connections named `name` (their CLIENT SETNAME, e.g. `tidykv-session`) every
 * `everyMs`, from an admin connection of its own, until stopped: a flaky network or a proxy that
 * drops idle links, on a schedule. Rounds never overlap (the next is armed when one ends).
 */
export async function killConnectionsPeriodically(at: RedisAddress, options: { name: string; everyMs: number }): Promise<ConnectionKiller> {
  const c = adminClient(at);
  await c.connect();
  let rounds = 0;
  let killed = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const round = (): void => {
    current = killNamed(c, options.name).then(
      (n) => {
        rounds++;
        killed += n;
      },
      () => undefined,
    ).then(() => {
      if (!stopped) timer = setTimeout(round, options.everyMs);
    });
  };
  timer = setTimeout(round, options.everyMs);
  return {
    get killed() {
      return killed;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
      await closeClient(c);
      return { rounds, killed };
    },
  };
}
