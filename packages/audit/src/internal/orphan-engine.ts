import type { Cluster, Redis } from 'ioredis';
import type { RedisConnection } from '@tidykv/core';
import type { ResolvedOrphanOptions } from '../audit.options.js';
import type { OrphanFinding } from '../orphan-finding.model.js';
import { inspectKeys, supportsReadOnlyScripts } from './inspect-script.js';
import { IndexRuleLayout } from './layouts/index-rule.layout.js';
import type { Classified, Container, DeadMember, InspectedKey, OrphanKey } from './layouts/layout.js';
import { classifySpringData, keyspaceOfHelperKey } from './layouts/spring-data.layout.js';
import { classifySpringSession } from './layouts/spring-session.layout.js';
import type { ScanNode } from './nodes.js';
import { pipelineValues } from './pipeline-replies.js';
import type { RateLimiter } from './rate-limiter.js';
import { ServerClock } from './server-clock.js';

export type { Container, DeadMember, InspectedKey, OrphanKey } from './layouts/layout.js';
export { SPRING_PRINCIPAL_INDEX } from './layouts/spring-session.layout.js';

/** Members of a candidate keyspace set sampled first: a healthy set is recognised in one round trip. */
const CANDIDATE_SAMPLE = 20;

/** What the fixer does with what the engine finds, before the batch is committed. */
export interface OrphanActions {
  onDeadMembers(node: ScanNode, container: Container, dead: DeadMember[]): Promise<void>;
  onOrphanKeys(node: ScanNode, orphans: OrphanKey[]): Promise<void>;
  /** After the last member of `container` was checked (and its dead members handed over). */
  onContainerDone?(node: ScanNode, container: Container, finding: OrphanFinding | undefined): Promise<void>;
}

/** Result of one batch. */
export interface OrphanBatch {
  seen: InspectedKey[];
  findings: OrphanFinding[];
  /** Keyspaces learnt in this batch. */
  keyspaces: string[];
}

type Options = ResolvedOrphanOptions;

/**
 * Recognises the leak-prone layouts (Spring Data Redis repositories, Spring Session, tidykv
 * indexes and custom index rules: see ./layouts, one pure classifier per layout) batch by batch
 * and checks their members. Read-only: it sends TYPE and PTTL (in EVALSHA_RO on standalone Redis
 * >= 7), TIME, SRANDMEMBER, SSCAN, ZSCAN, SCARD, HLEN, HEXISTS, EXISTS, MEMORY USAGE and INFO; a
 * fixer acts through {@link OrphanActions}.
 */
export class OrphanEngine {
  readonly keyspaces: Set<string>;
  private readonly rules: IndexRuleLayout;
  private readonly clock: ServerClock;
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
    this.rules = new IndexRuleLayout(o.indexRules);
    this.clock = new ServerClock(conn);
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
          const [next, keys] = await this.conn.run('discover', () => node.client.scan(cursor, 'MATCH', '*:[ip][dh][xa]*', 'COUNT', this.o.count));
          cursor = next;
          for (const k of keys) {
            const ks = keyspaceOfHelperKey(k);
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

  /** The layouts in order: index rules first, then Spring Session's namespace, then Spring Data. */
  private classify(k: InspectedKey, now: number): Classified {
    const byRule = this.rules.classify(k);
    if (byRule) return byRule;
    const ns = this.o.springSessionNamespace;
    // Every key under the Spring Session namespace is Spring Session's: never a Spring Data candidate.
    if (ns !== false && k.key.startsWith(`${ns}:`)) return classifySpringSession(k, ns, now);
    return classifySpringData(k, { keyspaces: this.keyspaces, detect: this.o.detectSpringDataKeyspaces });
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
    const candidates: InspectedKey[] = [];
    const now = await this.clock.now(node);
    for (const k of seen) {
      if (k.type === 'none') continue;
      const c = this.classify(k, now);
      if (!c) continue;
      if ('container' in c) containers.push(c.container);
      else if ('orphanKey' in c) orphanKeys.push(c.orphanKey);
      else candidates.push(c.candidateKeyspace);
    }
    for (let i = 0; i < candidates.length; i += 16) {
      const group = candidates.slice(i, i + 16);
      const verdicts = await Promise.all(group.map((k) => this.isKeyspaceSet(node, k.key)));
      group.forEach((k, j) => {
        if (!verdicts[j]) return;
        this.keyspaces.add(k.key);
        learnt.push(k.key);
        containers.push({ kind: 'spring-data-keyspace', key: k.key, type: 'set', pttl: k.pttl, target: (m) => `${k.key}:${m}`, scoreIsExpiry: false });
      });
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

  /**
   * Whether `set` is a Spring Data keyspace set: whether any member `m` names an existing
   * `<set>:<m>`. Deterministic: 20 random members are tried first (a healthy set answers in one
   * round trip), and when none of them is alive every member is checked, in SSCAN batches of
   * `memberBatch` with pipelined EXISTS, until one is. A random sample alone misses a set whose
   * members are 99% dead 8 times in 10 (0.99^20 = 0.82), which is exactly the leak to find. A
   * set without one live member is not recognised this way (nothing tells it from an unrelated
   * set); `:idx`/`:phantom` discovery and `springDataKeyspaces` cover that case.
   */
  private async isKeyspaceSet(node: ScanNode, set: string): Promise<boolean> {
    const sample = (await this.conn.run('srandmember', () => node.client.srandmember(set, CANDIDATE_SAMPLE))) as string[] | null;
    if (!sample || sample.length === 0) return false;
    await this.limiter?.take(sample.length);
    if ((await this.existsMany(node, sample.map((m) => `${set}:${m}`))).includes(1)) return true;
    let cursor = '0';
    do {
      const [next, members] = await this.conn.run('member scan', () => node.client.sscan(set, cursor, 'COUNT', this.o.memberBatch));
      cursor = next;
      await this.limiter?.take(members.length);
      if ((await this.existsMany(node, members.map((m) => `${set}:${m}`))).includes(1)) return true;
    } while (cursor !== '0');
    return false;
  }

  private async memoryOf(node: ScanNode, keys: string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const p = node.client.pipeline();
    for (const k of keys) p.call('MEMORY', 'USAGE', k);
    // A key gone since it was found has no memory (nil).
    return (await pipelineValues(this.conn, 'memory usage', p)).map((v) => (typeof v === 'number' ? v : 0));
  }

  private async checkKeys(node: ScanNode, keys: OrphanKey[]): Promise<OrphanFinding[]> {
    if (keys.length === 0) return [];
    const partial = keys.filter((k) => k.missingField !== undefined);
    const dependent = keys.filter((k) => k.dependsOn !== undefined && !(k.requireNoTtl && k.pttl !== -1));
    const orphans: OrphanKey[] = [];
    if (partial.length > 0) {
      const p = node.client.pipeline();
      for (const k of partial) p.hexists(k.key, k.missingField!);
      const r = await pipelineValues(this.conn, 'hexists', p);
      partial.forEach((k, i) => {
        if (r[i] === 0) orphans.push(k);
      });
    }
    const exists = await this.existsMany(node, dependent.map((k) => k.dependsOn!));
    const missing = dependent.filter((_, i) => exists[i] === 0);
    const prefixed = missing.filter((k) => k.memberPrefix !== undefined);
    if (prefixed.length > 0) {
      const p = node.client.pipeline();
      for (const k of prefixed) p.srandmember(k.key, 5);
      const r = await pipelineValues(this.conn, 'srandmember', p);
      const wrong = new Set(prefixed.filter((k, i) => !((r[i] as string[] | null) ?? []).every((m) => m.startsWith(k.memberPrefix!))));
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
    const r = await pipelineValues(this.conn, 'size', p);
    const findings = orphans.map((k, i): OrphanFinding => {
      const size = typeof r[2 * i] === 'number' ? (r[2 * i] as number) : 0;
      const memory = r[2 * i + 1];
      return {
        kind: k.kind,
        key: k.key,
        type: k.type,
        members: size,
        deadMembers: k.type === 'set' ? size : 0,
        wholeKey: true,
        memoryBytes: typeof memory === 'number' ? memory : 0,
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
      const [next, raw] = await this.conn.run('member scan', () =>
        c.type === 'set' ? node.client.sscan(c.key, cursor, 'COUNT', this.o.memberBatch) : node.client.zscan(c.key, cursor, 'COUNT', this.o.memberBatch),
      );
      cursor = next;
      // Members checked count against --rate like keys walked: each costs the server an EXISTS.
      await this.limiter?.take(c.type === 'set' ? raw.length : raw.length / 2);
      const members: { member: string; score?: number }[] = [];
      if (c.type === 'set') for (const m of raw) members.push({ member: m });
      else for (let i = 0; i < raw.length; i += 2) members.push({ member: raw[i], score: Number(raw[i + 1]) });
      total += members.length;
      // The server's clock, the one the writers scored the members with.
      const now = c.scoreIsExpiry ? await this.clock.now(node) : 0;
      const deadHere: DeadMember[] = [];
      const toCheck: { member: string; score?: number; target: string }[] = [];
      for (const m of members) {
        const target = c.target?.(m.member);
        if (c.scoreIsExpiry && m.score !== undefined && m.score <= now) deadHere.push({ member: m.member, reason: 'expired', score: m.score, target });
        else if (target !== undefined) toCheck.push({ ...m, target });
      }
      const exists = await this.existsMany(node, toCheck.map((m) => m.target));
      toCheck.forEach((m, i) => {
        if (exists[i] === 0) deadHere.push({ member: m.member, target: m.target, reason: 'missing', score: m.score });
      });
      dead += deadHere.length;
      if (deadHere.length > 0 && this.actions) await this.actions.onDeadMembers(node, c, deadHere);
    } while (cursor !== '0');
    let finding: OrphanFinding | undefined;
    if (dead > 0) {
      const [memory] = await this.memoryOf(node, [c.key]);
      finding = {
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
    await this.actions?.onContainerDone?.(node, c, finding);
    return finding;
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
  return (await pipelineValues(conn, 'exists', p)) as number[];
}
