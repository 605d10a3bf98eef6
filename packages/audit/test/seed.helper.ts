import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { SESSION_ID_LENGTH, TidyKvKeys, encodeKeyPart } from '@tidykv/core';
import { listKeys } from '@tidykv/testing';

/** A command as `[name, ...args]`. */
export type Cmd = [string, ...(string | number)[]];

/** Sends `cmds` fast: pipelined on a standalone client, concurrently through a Cluster (which routes by slot). */
export async function send(client: Redis | Cluster, cmds: Cmd[]): Promise<void> {
  for (let i = 0; i < cmds.length; i += 5000) {
    const chunk = cmds.slice(i, i + 5000);
    if (client.isCluster) {
      await Promise.all(chunk.map(([name, ...args]) => client.call(name, ...args)));
    } else {
      const p = (client as Redis).pipeline();
      for (const [name, ...args] of chunk) p.call(name, ...args);
      const r = (await p.exec()) ?? [];
      const failed = r.find(([err]) => err)?.[0];
      if (failed) throw failed;
    }
  }
}

/** Every key as a test compares it: type, TTL presence and content. */
export interface KeySnapshot {
  type: string;
  pttl: number;
  content: string;
}

/** Snapshot of every key (all masters of a Cluster): type, PTTL and full content. */
export async function snapshot(client: Redis | Cluster): Promise<Map<string, KeySnapshot>> {
  const keys = await listKeys(client);
  const out = new Map<string, KeySnapshot>();
  const contents = await Promise.all(
    keys.map(async (k) => {
      switch (k.type) {
        case 'string':
          return String(await client.get(k.key));
        case 'hash':
          return JSON.stringify(Object.entries(await client.hgetall(k.key)).sort());
        case 'set':
          return JSON.stringify((await client.smembers(k.key)).sort());
        case 'zset':
          return JSON.stringify(await client.zrange(k.key, '0', '-1', 'WITHSCORES'));
        default:
          return '';
      }
    }),
  );
  keys.forEach((k, i) => out.set(k.key, { type: k.type, pttl: k.pttl, content: contents[i] }));
  return out;
}

/**
 * Asserts that `after` is `before` with exactly `removedKeys` gone and exactly `removedMembers`
 * taken out of their sets/zsets, nothing else changed, and no TTL added, removed or extended.
 */
export function diffSnapshots(
  before: Map<string, KeySnapshot>,
  after: Map<string, KeySnapshot>,
  removedKeys: Set<string>,
  removedMembers: Map<string, Set<string>>,
): string[] {
  const problems: string[] = [];
  for (const [key, b] of before) {
    const a = after.get(key);
    const dropped = removedMembers.get(key);
    if (removedKeys.has(key)) {
      if (a) problems.push(`${key} should be gone`);
      continue;
    }
    if (dropped && b.type === 'set') {
      const expected = (JSON.parse(b.content) as string[]).filter((m) => !dropped.has(m));
      if (expected.length === 0) {
        if (a) problems.push(`${key} should be gone (emptied)`);
        continue;
      }
      if (!a || a.content !== JSON.stringify(expected)) problems.push(`${key} members differ`);
    } else if (dropped && b.type === 'zset') {
      const flat = JSON.parse(b.content) as string[];
      const expected: string[] = [];
      for (let i = 0; i < flat.length; i += 2) if (!dropped.has(flat[i])) expected.push(flat[i], flat[i + 1]);
      if (expected.length === 0) {
        if (a) problems.push(`${key} should be gone (emptied)`);
        continue;
      }
      if (!a || a.content !== JSON.stringify(expected)) problems.push(`${key} members differ`);
    } else if (!a) {
      problems.push(`${key} disappeared`);
      continue;
    } else if (a.content !== b.content || a.type !== b.type) {
      problems.push(`${key} content changed`);
    }
    if (a && (a.pttl === -1) !== (b.pttl === -1)) problems.push(`${key} TTL presence changed (${b.pttl} -> ${a.pttl})`);
    if (a && b.pttl > 0 && a.pttl > b.pttl) problems.push(`${key} TTL extended (${b.pttl} -> ${a.pttl})`);
  }
  for (const key of after.keys()) if (!before.has(key)) problems.push(`${key} appeared`);
  return problems;
}

const NS = 'spring:session';
const PRINCIPAL = 'org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME';

/** What a seeding function planted, so that tests can compute the exact expected repair. */
export interface Seeded {
  cmds: Cmd[];
  /** Keys that are orphans as a whole. */
  orphanKeys: Map<string, string[]>;
  /** Dead members per index key. */
  deadMembers: Map<string, Set<string>>;
}

function seeded(): Seeded {
  return { cmds: [], orphanKeys: new Map(), deadMembers: new Map() };
}

function dead(s: Seeded, key: string, member: string): void {
  let set = s.deadMembers.get(key);
  if (!set) s.deadMembers.set(key, (set = new Set()));
  set.add(member);
}

function orphanKey(s: Seeded, kind: string, key: string): void {
  let list = s.orphanKeys.get(kind);
  if (!list) s.orphanKeys.set(kind, (list = []));
  list.push(key);
}

/**
 * Spring Session (indexed repository) data: `healthy` complete sessions with TTLs, their expiry
 * keys, expiration buckets and principal index; `partial` hashes without creationTime and without
 * TTL; dead principal-index members; one past expiration bucket whose sessions are gone.
 */
export function springSession(healthy: number, partial: number, deadPrincipalMembers: number, staleBucketMembers: number): Seeded {
  const s = seeded();
  const now = Date.now();
  const minute = (m: number): number => (Math.floor(now / 60_000) + m) * 60_000;
  for (let i = 0; i < healthy; i++) {
    const id = randomUUID();
    s.cmds.push(['HSET', `${NS}:sessions:${id}`, 'creationTime', now, 'lastAccessedTime', now, 'maxInactiveInterval', 1800, 'sessionAttr:SPRING_SECURITY_CONTEXT', 'ctx']);
    s.cmds.push(['PEXPIRE', `${NS}:sessions:${id}`, 2_100_000]);
    s.cmds.push(['SET', `${NS}:sessions:expires:${id}`, '', 'PX', 1_800_000]);
    s.cmds.push(['SADD', `${NS}:expirations:${minute(31 + (i % 10))}`, `expires:${id}`]);
    s.cmds.push(['SADD', `${NS}:index:${PRINCIPAL}:user${i % 500}`, id]);
  }
  for (let m = 0; m < 10; m++) s.cmds.push(['PEXPIRE', `${NS}:expirations:${minute(31 + m)}`, 2_400_000]);
  for (let i = 0; i < partial; i++) {
    const key = `${NS}:sessions:${randomUUID()}`;
    s.cmds.push(['HSET', key, 'lastAccessedTime', now, 'sessionAttr:cart', 'x']);
    orphanKey(s, 'spring-session-partial', key);
  }
  for (let i = 0; i < deadPrincipalMembers; i++) {
    const key = `${NS}:index:${PRINCIPAL}:user${i % 50}`;
    const id = randomUUID();
    s.cmds.push(['SADD', key, id]);
    dead(s, key, id);
  }
  // A current bucket with its TTL, naming a session that has just gone: Spring's own cleanup
  // (and the bucket's TTL) handles it, so it is not a leftover.
  s.cmds.push(['SADD', `${NS}:expirations:${minute(1)}`, `expires:${randomUUID()}`], ['PEXPIRE', `${NS}:expirations:${minute(1)}`, 360_000]);
  const bucket = `${NS}:expirations:${minute(-90)}`;
  for (let i = 0; i < staleBucketMembers; i++) {
    const member = `expires:${randomUUID()}`;
    s.cmds.push(['SADD', bucket, member]);
    dead(s, bucket, member);
  }
  return s;
}

/**
 * Spring Data Redis repository data for keyspace `ks`: a keyspace set of `total` ids of which
 * `deadCount` have no hash; live entities with TTL, phantoms and `:idx` sets; `@Indexed lastname`
 * sets holding live and `deadIndexed` dead ids; `deadIdx` leftover `:idx` sets and `deadPhantoms`
 * TTL-less phantoms of missing entities, plus as many phantoms with a TTL (not orphans yet).
 */
export function springData(ks: string, total: number, deadCount: number, opts: { deadIndexed?: number; deadIdx?: number; deadPhantoms?: number } = {}): Seeded {
  const s = seeded();
  const names = ['smith', 'jones', 'brown', 'taylor', 'wilson', 'evans', 'thomas', 'roberts', 'walker', 'wright'];
  const ids = Array.from({ length: total }, (_, i) => `${i + 1}`);
  for (let i = 0; i < ids.length; i += 1000) s.cmds.push(['SADD', ks, ...ids.slice(i, i + 1000)]);
  const live = ids.slice(deadCount);
  const gone = ids.slice(0, deadCount);
  live.forEach((id, i) => {
    const ln = names[i % names.length];
    s.cmds.push(['HSET', `${ks}:${id}`, '_class', 'com.example.Person', 'id', id, 'lastname', ln]);
    s.cmds.push(['PEXPIRE', `${ks}:${id}`, 3_600_000]);
    s.cmds.push(['HSET', `${ks}:${id}:phantom`, '_class', 'com.example.Person', 'id', id, 'lastname', ln]);
    s.cmds.push(['PEXPIRE', `${ks}:${id}:phantom`, 3_900_000]);
    s.cmds.push(['SADD', `${ks}:${id}:idx`, `${ks}:lastname:${ln}`]);
    s.cmds.push(['SADD', `${ks}:lastname:${ln}`, id]);
  });
  for (const id of gone) dead(s, ks, id);
  gone.slice(0, opts.deadIndexed ?? 0).forEach((id, i) => {
    const key = `${ks}:lastname:${names[i % names.length]}`;
    s.cmds.push(['SADD', key, id]);
    dead(s, key, id);
  });
  const idxFrom = opts.deadIndexed ?? 0;
  for (const id of gone.slice(idxFrom, idxFrom + (opts.deadIdx ?? 0))) {
    s.cmds.push(['SADD', `${ks}:${id}:idx`, `${ks}:lastname:smith`]);
    orphanKey(s, 'spring-data-idx', `${ks}:${id}:idx`);
  }
  const phFrom = idxFrom + (opts.deadIdx ?? 0);
  const n = opts.deadPhantoms ?? 0;
  for (const id of gone.slice(phFrom, phFrom + n)) {
    s.cmds.push(['HSET', `${ks}:${id}:phantom`, '_class', 'com.example.Person', 'id', id]);
    orphanKey(s, 'spring-data-phantom', `${ks}:${id}:phantom`);
  }
  // Phantoms of recently expired entities still carry their 5-minute grace TTL: not leaks.
  for (const id of gone.slice(phFrom + n, phFrom + 2 * n)) {
    s.cmds.push(['HSET', `${ks}:${id}:phantom`, '_class', 'com.example.Person', 'id', id]);
    s.cmds.push(['PEXPIRE', `${ks}:${id}:phantom`, 300_000]);
  }
  return s;
}

/**
 * tidykv layouts (prefix `tkv:`), keys built by core's TidyKvKeys (the layout @tidykv/session and
 * @tidykv/repository write with; tidykv-layouts.nest.int-spec.ts runs the rules against keys those
 * packages wrote themselves): a session principal index with live, expired and dangling members,
 * and repository `@Indexed` zsets with dangling and expired ids. Bulk commands, so that the
 * same seed also goes to a Cluster and into large keyspaces.
 */
export function tidykv(tag = 'Ab3x'): Seeded {
  const s = seeded();
  const keys = new TidyKvKeys('tkv:');
  const now = Date.now();
  const idx = keys.principalIndex(tag);
  const session = (i: number): string => `${tag}${String(i).padStart(SESSION_ID_LENGTH - tag.length, 'q')}`;
  const member = (i: number): string => keys.principalMember(session(i), '"alice"');
  for (let i = 0; i < 5; i++) {
    s.cmds.push(['HSET', keys.session(session(i)), '#c', now, '#a', now, 'userId', '"alice"']);
    s.cmds.push(['PEXPIRE', keys.session(session(i)), 600_000]);
    s.cmds.push(['ZADD', idx, now + 600_000, member(i)]);
  }
  for (let i = 5; i < 8; i++) {
    s.cmds.push(['ZADD', idx, now - 60_000, member(i)]);
    dead(s, idx, member(i));
  }
  for (let i = 8; i < 10; i++) {
    // Scored in the future but the session is gone (evicted, FLUSHDB...): dangling.
    s.cmds.push(['ZADD', idx, now + 600_000, member(i)]);
    dead(s, idx, member(i));
  }
  s.cmds.push(['HSET', keys.entity('users', 'u1'), 'email', '"a@b.com"', 'city', '"paris"']);
  const byEmail = keys.entityIndex('users', 'email', encodeKeyPart('a@b.com'));
  s.cmds.push(['ZADD', byEmail, '+inf', 'u1', '+inf', 'u2']);
  dead(s, byEmail, 'u2');
  const byCity = keys.entityIndex('users', 'city', encodeKeyPart('paris'));
  s.cmds.push(['ZADD', byCity, '+inf', 'u1', now - 1000, 'u3']);
  dead(s, byCity, 'u3');
  return s;
}

/** Merges seeds. */
export function merge(...all: Seeded[]): Seeded {
  const s = seeded();
  for (const x of all) {
    s.cmds.push(...x.cmds);
    for (const [k, v] of x.orphanKeys) s.orphanKeys.set(k, [...(s.orphanKeys.get(k) ?? []), ...v]);
    for (const [k, v] of x.deadMembers) s.deadMembers.set(k, new Set([...(s.deadMembers.get(k) ?? []), ...v]));
  }
  return s;
}

/** Commands every read-only run may send (INFO commandstats names, lower-cased). */
export const READ_ONLY_COMMANDS = new Set([
  'scan', 'type', 'pttl', 'strlen', 'llen', 'xlen', 'memory|usage', 'time', 'exists', 'sscan', 'zscan', 'hscan', 'scard', 'zcard', 'hlen', 'hexists',
  'srandmember', 'dbsize', 'info', 'evalsha_ro', 'eval_ro', 'ping', 'readonly', 'cluster|slots', 'cluster|shards', 'cluster|nodes', 'client|setname', 'client|setinfo', 'select', 'hello', 'command', 'command|docs', 'command|info', 'auth',
]);
