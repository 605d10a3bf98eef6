import type { Cluster, Redis } from 'ioredis';
import { encodeKeyPart, type RedisConnection } from '@tidykv/core';
import type { IndexRule, ResolvedOrphanOptions } from '../audit.options.js';
import { patternOf } from '../key-pattern.classifier.js';
import type { OrphanFinding, OrphanKind } from '../orphan.finder.js';
import { inspectKeys, supportsReadOnlyScripts } from './inspect-script.js';
import type { ScanNode } from './nodes.js';
import type { RateLimiter } from './rate-limiter.js';

/** Spring Session stores the principal index under this index name. */
export const SPRING_PRINCIPAL_INDEX = 'org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME';

/** Spring Session expires an expiration bucket 5 minutes after its minute. */
const SPRING_BUCKET_GRACE_MS = 5 * 60_000;

/** A member found dead, with why. */
export interface DeadMember {
  member: string;
  /** Key the member points at (checked missing), when the layout has one. */
  target?: string;
  /** `expired`: zset score in the past; `missing`: target key gone. */
  reason: 'expired' | 'missing';
  score?: number;
}

/** An index whose members point at other keys. */
export interface Container {
  kind: OrphanKind;
  rule?: string;
  key: string;
  type: 'set' | 'zset';
  pttl: number;
  target?: (member: string) => string;
  scoreIsExpiry: boolean;
}

/** A key that is an orphan as a whole. */
export interface OrphanKey {
  kind: OrphanKind;
  key: string;
  type: string;
  pttl: number;
  /** Main key whose absence makes this key an orphan (Spring Data `:idx`, `:phantom`). */
  dependsOn?: string;
  /** For partial hashes: the field whose absence marks them. */
  missingField?: string;
  /** Only an orphan while it has no TTL. */
  requireNoTtl: boolean;
  /** Members must start with this (Spring `:idx` sets name `<keyspace>:` index keys). */
  memberPrefix?: string;
}

/** What the fixer does with what the engine finds, before the batch is committed. */
export interface OrphanActions {
  onDeadMembers(node: ScanNode, container: Container, dead: DeadMember[]): Promise<void>;
  onOrphanKeys(node: ScanNode, orphans: OrphanKey[]): Promise<void>;
}

/** The keys of one batch, as inspected. */
export interface InspectedKey {
  key: string;
  type: string;
  pttl: number;
}

/** Result of one batch. */
export interface OrphanBatch {
  seen: InspectedKey[];
  findings: OrphanFinding[];
  /** Keyspaces learnt in this batch. */
  keyspaces: string[];
}

type Options = ResolvedOrphanOptions;

type Classified = { container: Container } | { orphanKey: OrphanKey } | { probe: InspectedKey } | undefined;

interface CompiledRule {
  rule: IndexRule;
  regex: RegExp;
}

function globToRegex(glob: string): RegExp {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) re += glob[++i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '*') re += '(.*?)';
    else if (c === '?') re += '(.)';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        const body = glob.slice(i + 1, end);
        re += `[${body.startsWith('^') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`, 's');
}

/** Fills an {@link IndexRule} target template; see `IndexRule.target`. */
export function renderTarget(template: string, member: string, captures: readonly string[]): string {
  return template.replace(/\$(member_encoded|member\[(\d*):(\d*)\]|member|\d+)/g, (_, token: string, from?: string, to?: string) => {
    if (token === 'member') return member;
    if (token === 'member_encoded') return encodeKeyPart(member);
    if (token.startsWith('member[')) return member.slice(from ? Number(from) : 0, to ? Number(to) : undefined);
    return captures[Number(token) - 1] ?? '';
  });
}

function parentOf(key: string): string | undefined {
  const i = key.lastIndexOf(':');
  return i > 0 ? key.slice(0, i) : undefined;
}

/**
 * Recognises the leak-prone layouts (Spring Data Redis repositories, Spring Session, tidykv
 * indexes and custom index rules) batch by batch and checks their members. Read-only: it sends
 * TYPE and PTTL (in EVALSHA_RO on standalone Redis >= 7), SRANDMEMBER, SSCAN, ZSCAN, SCARD, HLEN,
 * HEXISTS, EXISTS, MEMORY USAGE and INFO; a fixer acts through {@link OrphanActions}.
 */
export class OrphanEngine {
  readonly keyspaces: Set<string>;
  private readonly rules: CompiledRule[];
  /** Per node: whether batches are inspected with the read-only script. */
  private readonly scripted = new Map<string, boolean>();

  constructor(
    private readonly conn: RedisConnection,
    private readonly o: Options,
    keyspaces: Iterable<string>,
    private readonly actions?: OrphanActions,
    private readonly limiter?: RateLimiter,
  ) {
    this.keyspaces = new Set([...o.springDataKeyspaces, ...keyspaces]);
    this.rules = o.indexRules.map((rule) => ({ rule, regex: globToRegex(rule.match) }));
  }

  /**
   * Finds Spring Data keyspaces from their `:idx` sets and `:phantom` hashes with one SCAN pass
   * per node; the MATCH pattern lets the server filter, so only candidates cross the wire.
   */
  async discover(nodes: ScanNode[], signal?: AbortSignal): Promise<void> {
    if (!this.o.detectSpringDataKeyspaces) return;
    await Promise.all(
      nodes.map(async (node) => {
        let cursor = '0';
        do {
          if (signal?.aborted) return;
          const [next, keys] = (await this.conn.run('discover', () => node.client.scan(cursor, 'MATCH', '*:[ip][dh][xa]*', 'COUNT', this.o.count))) as [string, string[]];
          cursor = next;
          for (const k of keys) {
            const base = k.endsWith(':idx') ? k.slice(0, -4) : k.endsWith(':phantom') ? k.slice(0, -8) : undefined;
            const ks = base === undefined ? undefined : parentOf(base);
            if (ks !== undefined && !this.isSpringSession(k)) this.keyspaces.add(ks);
          }
        } while (cursor !== '0');
      }),
    );
  }

  private isSpringSession(key: string): boolean {
    const ns = this.o.springSessionNamespace;
    return ns !== false && key.startsWith(`${ns}:`);
  }

  /** The keyspace `key` belongs to (longest known prefix), if any. */
  private keyspaceOf(key: string): string | undefined {
    let best: string | undefined;
    for (const ks of this.keyspaces) {
      if (key.length > ks.length + 1 && key.startsWith(ks) && key[ks.length] === ':' && (best === undefined || ks.length > best.length)) best = ks;
    }
    return best;
  }

  private classify(k: InspectedKey): Classified {
    const { key, type, pttl } = k;
    if (type === 'set' || type === 'zset') {
      for (const { rule, regex } of this.rules) {
        const m = regex.exec(key);
        if (!m) continue;
        const captures = m.slice(1);
        const tpl = rule.target;
        const target = tpl === undefined ? undefined : typeof tpl === 'function' ? (member: string) => tpl(member, captures) : (member: string) => renderTarget(tpl, member, captures);
        return { container: { kind: 'index', rule: rule.name, key, type, pttl, target, scoreIsExpiry: type === 'zset' && rule.scoreIsExpiry !== false } };
      }
    }
    const ns = this.o.springSessionNamespace;
    if (ns !== false && key.startsWith(`${ns}:`)) {
      const rest = key.slice(ns.length + 1);
      const toSession = (m: string): string => `${ns}:sessions:${m}`;
      if (type === 'set' && rest.startsWith('expirations:')) {
        // Spring gives each bucket a TTL of its minute + 5 min and its cleanup job empties it; a
        // bucket that still has a TTL and is not yet past that grace cleans itself. Only buckets
        // without TTL, or past their grace, are leftovers.
        const minute = Number(rest.slice('expirations:'.length));
        if (pttl !== -1 && !(Number.isFinite(minute) && minute + SPRING_BUCKET_GRACE_MS < Date.now())) return undefined;
        return { container: { kind: 'spring-session-expirations', key, type, pttl, target: toSession, scoreIsExpiry: false } };
      }
      if (type === 'set' && rest.startsWith('index:')) {
        return { container: { kind: 'spring-session-index', key, type, pttl, target: toSession, scoreIsExpiry: false } };
      }
      if (type === 'hash' && rest.startsWith('sessions:') && !rest.startsWith('sessions:expires:')) {
        return { orphanKey: { kind: 'spring-session-partial', key, type, pttl, missingField: 'creationTime', requireNoTtl: false } };
      }
      return undefined;
    }
    if (type === 'set' && this.keyspaces.has(key)) {
      return { container: { kind: 'spring-data-keyspace', key, type, pttl, target: (m) => `${key}:${m}`, scoreIsExpiry: false } };
    }
    const ks = this.keyspaceOf(key);
    if (ks !== undefined) {
      if (type === 'set' && key.endsWith(':idx')) {
        // `persons:lastname:idx` could also be the index set of lastname "idx": memberPrefix tells them apart.
        return { orphanKey: { kind: 'spring-data-idx', key, type, pttl, dependsOn: key.slice(0, -4), requireNoTtl: false, memberPrefix: `${ks}:` } };
      }
      if (type === 'hash' && key.endsWith(':phantom')) {
        // A phantom with a TTL expires by itself (Spring gives it the entity TTL + 5 min); one without is stranded.
        return { orphanKey: { kind: 'spring-data-phantom', key, type, pttl, dependsOn: key.slice(0, -8), requireNoTtl: true } };
      }
      if (type === 'set' && key.slice(ks.length + 1).includes(':')) {
        return { container: { kind: 'spring-data-index', key, type, pttl, target: (m) => `${ks}:${m}`, scoreIsExpiry: false } };
      }
      return undefined;
    }
    // Keyspace names are literal (`persons`, `com.example.Person`); a set named like `tags:42` is
    // one of many and would cost a probe each, so only literally named sets are probed.
    if (type === 'set' && this.o.detectSpringDataKeyspaces && !patternOf(key).includes('<')) return { probe: k };
    return undefined;
  }

  /** EXISTS for each key; see {@link existsMany}. */
  existsMany(node: ScanNode, keys: string[]): Promise<number[]> {
    return existsMany(this.conn, node, keys);
  }

  /** Inspects one batch of keys from `node`. */
  async process(node: ScanNode, keys: string[], typeOfKeys?: InspectedKey[]): Promise<OrphanBatch> {
    const seen = typeOfKeys ?? (await this.inspect(node, keys));
    const findings: OrphanFinding[] = [];
    const learnt: string[] = [];
    const containers: Container[] = [];
    const orphanKeys: OrphanKey[] = [];
    const probes: InspectedKey[] = [];
    for (const k of seen) {
      if (k.type === 'none') continue;
      const c = this.classify(k);
      if (!c) continue;
      if ('container' in c) containers.push(c.container);
      else if ('orphanKey' in c) orphanKeys.push(c.orphanKey);
      else probes.push(c.probe);
    }
    if (probes.length > 0) {
      for (const ks of await this.probe(node, probes)) {
        this.keyspaces.add(ks);
        learnt.push(ks);
        const k = probes.find((p) => p.key === ks)!;
        containers.push({ kind: 'spring-data-keyspace', key: ks, type: 'set', pttl: k.pttl, target: (m) => `${ks}:${m}`, scoreIsExpiry: false });
      }
    }
    findings.push(...(await this.checkKeys(node, orphanKeys)));
    // Containers are checked a few at a time: each is its own SSCAN/ZSCAN walk.
    for (let i = 0; i < containers.length; i += 16) {
      const results = await Promise.all(containers.slice(i, i + 16).map((c) => this.checkContainer(node, c)));
      for (const f of results) if (f) findings.push(f);
    }
    return { seen, findings, keyspaces: learnt };
  }

  /**
   * TYPE and PTTL of every key: one read-only script call on standalone Redis >= 7 (as `scan`
   * does), otherwise pipelined on the node.
   */
  async inspect(node: ScanNode, keys: string[]): Promise<InspectedKey[]> {
    if (keys.length === 0) return [];
    let batched = this.scripted.get(node.id);
    if (batched === undefined) {
      batched = !this.conn.isCluster && (await this.conn.run('info', () => supportsReadOnlyScripts(node.client)));
      this.scripted.set(node.id, batched);
    }
    return (await inspectKeys(this.conn, node, keys, { script: batched, lengths: false })).keys;
  }

  /** Sets that are Spring Data keyspace sets: any of 20 random members names an existing `<set>:<member>` hashes. */
  private async probe(node: ScanNode, sets: InspectedKey[]): Promise<string[]> {
    const p = node.client.pipeline();
    for (const s of sets) p.srandmember(s.key, 20);
    const r = (await this.conn.run('probe', () => p.exec())) ?? [];
    const candidates: { set: string; target: string }[] = [];
    sets.forEach((s, i) => {
      for (const m of (r[i][1] as string[] | null) ?? []) candidates.push({ set: s.key, target: `${s.key}:${m}` });
    });
    const exists = await this.existsMany(node, candidates.map((c) => c.target));
    return [...new Set(candidates.filter((_, i) => exists[i] === 1).map((c) => c.set))];
  }

  private async memoryOf(node: ScanNode, keys: string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const p = node.client.pipeline();
    for (const k of keys) p.call('MEMORY', 'USAGE', k);
    const r = (await this.conn.run('memory usage', () => p.exec())) ?? [];
    return r.map(([, v]) => (typeof v === 'number' ? v : 0));
  }

  private async checkKeys(node: ScanNode, keys: OrphanKey[]): Promise<OrphanFinding[]> {
    if (keys.length === 0) return [];
    const partial = keys.filter((k) => k.missingField !== undefined);
    const dependent = keys.filter((k) => k.dependsOn !== undefined && !(k.requireNoTtl && k.pttl !== -1));
    const orphans: OrphanKey[] = [];
    if (partial.length > 0) {
      const p = node.client.pipeline();
      for (const k of partial) p.hexists(k.key, k.missingField!);
      const r = (await this.conn.run('hexists', () => p.exec())) ?? [];
      partial.forEach((k, i) => {
        if (r[i][1] === 0) orphans.push(k);
      });
    }
    const exists = await this.existsMany(node, dependent.map((k) => k.dependsOn!));
    const missing = dependent.filter((_, i) => exists[i] === 0);
    const prefixed = missing.filter((k) => k.memberPrefix !== undefined);
    if (prefixed.length > 0) {
      const p = node.client.pipeline();
      for (const k of prefixed) p.srandmember(k.key, 5);
      const r = (await this.conn.run('srandmember', () => p.exec())) ?? [];
      const wrong = new Set(prefixed.filter((k, i) => !((r[i][1] as string[] | null) ?? []).every((m) => m.startsWith(k.memberPrefix!))));
      orphans.push(...missing.filter((k) => !wrong.has(k)));
    } else orphans.push(...missing);
    if (orphans.length === 0) return [];
    const p = node.client.pipeline();
    for (const k of orphans) {
      if (k.type === 'set') p.scard(k.key);
      else if (k.type === 'hash') p.hlen(k.key);
      else p.exists(k.key);
      p.call('MEMORY', 'USAGE', k.key);
    }
    const r = (await this.conn.run('size', () => p.exec())) ?? [];
    const findings = orphans.map((k, i): OrphanFinding => {
      const size = (r[2 * i][1] as number) ?? 0;
      return {
        kind: k.kind,
        key: k.key,
        type: k.type,
        members: size,
        deadMembers: k.type === 'set' ? size : 0,
        wholeKey: true,
        memoryBytes: (r[2 * i + 1][1] as number | null) ?? 0,
        pttl: k.pttl,
      };
    });
    await this.actions?.onOrphanKeys(node, orphans);
    return findings;
  }

  private async checkContainer(node: ScanNode, c: Container): Promise<OrphanFinding | undefined> {
    let cursor = '0';
    let dead = 0;
    let total = 0;
    do {
      const [next, raw] = (await this.conn.run('member scan', () =>
        c.type === 'set'
          ? node.client.sscan(c.key, cursor, 'COUNT', this.o.memberBatch)
          : node.client.zscan(c.key, cursor, 'COUNT', this.o.memberBatch),
      )) as [string, string[]];
      cursor = next;
      // Members checked count against --rate like keys walked: each costs the server an EXISTS.
      await this.limiter?.take(c.type === 'set' ? raw.length : raw.length / 2);
      const members: { member: string; score?: number }[] = [];
      if (c.type === 'set') for (const m of raw) members.push({ member: m });
      else for (let i = 0; i < raw.length; i += 2) members.push({ member: raw[i], score: Number(raw[i + 1]) });
      total += members.length;
      const now = Date.now();
      const deadHere: DeadMember[] = [];
      const toCheck: { member: string; score?: number; target: string }[] = [];
      for (const m of members) {
        if (c.scoreIsExpiry && m.score !== undefined && m.score <= now) deadHere.push({ member: m.member, reason: 'expired', score: m.score, target: c.target?.(m.member) });
        else if (c.target) toCheck.push({ ...m, target: c.target(m.member) });
      }
      const exists = await this.existsMany(node, toCheck.map((m) => m.target));
      toCheck.forEach((m, i) => {
        if (exists[i] === 0) deadHere.push({ member: m.member, target: m.target, reason: 'missing', score: m.score });
      });
      dead += deadHere.length;
      if (deadHere.length > 0 && this.actions) await this.actions.onDeadMembers(node, c, deadHere);
    } while (cursor !== '0');
    if (dead === 0) return undefined;
    const [memory] = await this.memoryOf(node, [c.key]);
    return {
      kind: c.kind,
      ...(c.rule ? { rule: c.rule } : {}),
      key: c.key,
      type: c.type,
      members: total,
      deadMembers: dead,
      wholeKey: false,
      memoryBytes: memory,
      pttl: c.pttl,
    };
  }
}

/** The client for single-key commands: the node itself on standalone, the Cluster router otherwise. */
export function clientFor(conn: RedisConnection, node: ScanNode): Redis | Cluster {
  return conn.isCluster ? conn.client : node.client;
}

/**
 * EXISTS for each key, 1 or 0: on a Cluster routed by slot through the Cluster client (the keys
 * live on any node; the commands go out concurrently, so they share round trips), on standalone
 * pipelined to the node itself (the server, or the replica being read).
 */
export async function existsMany(conn: RedisConnection, node: ScanNode, keys: string[]): Promise<number[]> {
  if (keys.length === 0) return [];
  if (conn.isCluster) {
    const cluster = conn.client as Cluster;
    return conn.run('exists', () => Promise.all(keys.map((k) => cluster.exists(k))));
  }
  const p = node.client.pipeline();
  for (const k of keys) p.exists(k);
  const r = (await conn.run('exists', () => p.exec())) ?? [];
  return r.map(([err, v]) => {
    if (err) throw err;
    return v as number;
  });
}
