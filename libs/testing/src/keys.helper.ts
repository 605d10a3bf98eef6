import type { Cluster, Redis } from 'ioredis';

/** A key as a test sees it. */
export interface KeyInfo {
  key: string;
  type: string;
  /** PTTL in ms; -1 means no TTL (a leak, in most tests). */
  pttl: number;
}

function masters(client: Redis | Cluster): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
}

/** Every key matching `pattern` (SCAN, never KEYS) with its type and PTTL, sorted by name; all masters of a Cluster. */
export async function listKeys(client: Redis | Cluster, pattern = '*'): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  for (const node of masters(client)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const p = node.pipeline();
      for (const k of keys) p.type(k).pttl(k);
      const r = (await p.exec()) ?? [];
      keys.forEach((key, i) => out.push({ key, type: r[i * 2][1] as string, pttl: r[i * 2 + 1][1] as number }));
    } while (cursor !== '0');
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** DBSIZE, summed over every master of a Cluster. */
export async function dbSize(client: Redis | Cluster): Promise<number> {
  let n = 0;
  for (const node of masters(client)) n += await node.dbsize();
  return n;
}

/** FLUSHALL on every master. Only for servers the fixture started. */
export async function flushAll(client: Redis | Cluster): Promise<void> {
  for (const node of masters(client)) await node.flushall();
}

/** Polls `check` every 20 ms until it returns true; throws after `timeoutMs`. Use instead of fixed sleeps. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
