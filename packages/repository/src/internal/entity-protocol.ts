import { LRUCache } from 'lru-cache';
import type { Cluster, Redis } from 'ioredis';
import { isConnectionError, provesNotSent, TidyKvOutcomeUnknownError, type RunOptions } from '@tidykv/core';
import { entityWriteOutcome, TidyKvEntityConflictError, type EntityWriteOutcome } from '../repository.errors.js';
import type { EncodedEntity, EncodedPatch, EntityCodec } from './entity-codec.js';
import type { EntityMetadata } from './entity-metadata.js';
import { entityScripts, type DeleteEntry } from './entity-scripts.js';
import { hashPayload, restoreRefusal } from './hash-payload.js';
import { ANY, KEEP, type IndexBlock } from './index-blocks.js';
import { perNode } from './node-pipelines.js';
import type { RepositoryDriver } from './repository-driver.js';

type Client = Redis | Cluster;

/** What a write says about one @Indexed property. */
type BlockSpec =
  /** Write `enc` (its index entry under `part`, none when undefined). */
  | { readonly prop: string; readonly enc: string; readonly part: string | undefined }
  /** Keep whatever the entity stores, re-scoring its entry (TTL changes). */
  | { readonly prop: string; readonly keep: true };

/** One entity to delete. */
export interface RemoveTarget {
  readonly id: string;
  /** Indexed encodings believed stored (metadata order); unknown ones are ''. */
  readonly guess: readonly string[];
  /** Delete only while indexed property number `block` holds `enc` (deleteBy). */
  readonly guard?: { readonly block: number; readonly enc: string };
}

// Every write of the repository may be re-sent after a dropped connection (RedisConnection.run
// retries it within the operation's deadline), because each is idempotent: it carries the whole
// state it establishes, never a delta. A save or an update sets absolute field values and an
// absolute TTL (measured from the attempt that lands, which is still within the call); a
// delete, expire or persist applied twice leaves what applying it once leaves; the index moves
// compare the stored values before moving anything, so a re-sent move finds the entry already
// in place and moves nothing. What a re-send can blur is the *reply* of a call whose entity went
// away in between: see `uncertain` below.
const WRITE: RunOptions = Object.freeze({ write: true, idempotent: true });

/**
 * Tracks whether an earlier attempt of an operation may have been applied: RedisConnection.run
 * calls the operation again after a connection error that does not prove the command unsent.
 */
class Attempts {
  maybeApplied = false;

  async track<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (isConnectionError(err) && !provesNotSent(err)) this.maybeApplied = true;
      throw err;
    }
  }
}

/**
 * The script protocol behind {@link EntityRepository}: how each write names the index keys of
 * the values it expects to be stored and retries when they differ, the Cluster branch (hash
 * first, then index entries in their own slots), and per-node pipelines for reads. One per
 * repository; the connection and what it accepts are the context's ({@link RepositoryDriver}).
 */
export class EntityProtocol {
  /**
   * The indexed values (stored encodings, '' for absent) this process last saw stored per id,
   * from its own reads and writes. A write that changes an indexed value must name the old index
   * key up front; with a right guess the usual read-modify-write is one round trip instead of
   * two. A wrong or missing guess is never unsafe: the script refuses it and reports the stored
   * values, and the write is retried with them.
   */
  private readonly seen = new LRUCache<string, readonly string[]>({ max: 10_000 });

  constructor(
    private readonly meta: EntityMetadata,
    private readonly codec: EntityCodec,
    private readonly driver: RepositoryDriver,
  ) {}

  keyOf(id: string): string {
    return this.driver.layout.entity(this.meta.keyspace, id);
  }

  indexKeyOf(prop: string, part: string): string {
    return this.driver.layout.entityIndex(this.meta.keyspace, prop, part);
  }

  // ------------------------------------------------------------------ writes

  async save(enc: EncodedEntity): Promise<void> {
    const hash = this.keyOf(enc.id);
    if (this.meta.indexed.length === 0) {
      await this.driver.run('repository.save', (c) => this.savePlain(c, hash, enc), WRITE);
      return;
    }
    const specs: BlockSpec[] = this.meta.indexed.map((prop, i) => ({ prop, enc: enc.indexedEncodings[i], part: enc.indexedParts[i] }));
    await this.write('repository.save', 'saveEntity', enc.id, specs, this.guess(enc.id), new Attempts(), (c, blocks) =>
      entityScripts.save.run(c, { hash, id: enc.id, ttlMs: enc.ttlMs, blocks, pairs: enc.pairs }),
    );
    this.remember(enc.id, enc.indexedEncodings);
  }

  /**
   * A save of an entity without @Indexed: with a TTL, one `RESTORE ... REPLACE` (atomic: all
   * fields and the TTL at once, nothing of the old hash left), else the save script, which keeps
   * the TTL the hash has.
   */
  private async savePlain(c: Client, hash: string, enc: EncodedEntity): Promise<void> {
    while (enc.ttlMs > 0 && this.driver.plainSave !== 'script') {
      try {
        await c.restore(hash, enc.ttlMs, hashPayload(enc.pairs, this.driver.plainSave), 'REPLACE');
        return;
      } catch (err) {
        // A refusal happens before RESTORE does anything: the next way is the whole save.
        const refusal = restoreRefusal(err);
        if (refusal === undefined) throw err;
        this.driver.stepDown(refusal, err);
      }
    }
    await entityScripts.saveFields.run(c, { hash, ttlMs: enc.ttlMs, pairs: enc.pairs });
  }

  /** Returns false when the entity does not exist. */
  async update(id: string, patch: EncodedPatch): Promise<boolean> {
    const hash = this.keyOf(id);
    const specs: BlockSpec[] = patch.indexed.map((x) => ({ prop: x.prop, enc: x.enc, part: x.part }));
    const guess = this.guess(id);
    const attempts = new Attempts();
    const outcome =
      specs.length === 0
        ? await this.driver.run(
            'repository.update',
            async (c) => entityWriteOutcome('updateFields', await attempts.track(entityScripts.updateFields.run(c, { hash, pairs: patch.pairs, removed: patch.removed }))),
            WRITE,
          )
        : await this.write('repository.update', 'updateEntity', id, specs, guess, attempts, (c, blocks) =>
            entityScripts.update.run(c, { hash, id, ttl: 'keep', blocks, pairs: patch.pairs, removed: patch.removed }),
          );
    if (outcome.kind !== 'done') return this.gone('repository.update', id, attempts);
    if (guess.length > 0) {
      const next = [...guess];
      for (const x of patch.indexed) next[this.meta.indexed.indexOf(x.prop)] = x.enc;
      this.remember(id, next);
    }
    return true;
  }

  /** Sets the TTL (ms) or removes it ('persist'). Returns false when the entity does not exist. */
  async retime(id: string, ttl: number | 'persist'): Promise<boolean> {
    const hash = this.keyOf(id);
    const attempts = new Attempts();
    if (this.meta.indexed.length === 0 && ttl !== 'persist') {
      // Nothing to re-score: PEXPIRE alone, which answers whether the key exists.
      const set = await this.driver.run('repository.expire', (c) => attempts.track(c.pexpire(hash, ttl)), WRITE);
      return set === 1 || this.gone('repository.expire', id, attempts);
    }
    const operation = ttl === 'persist' ? 'repository.persist' : 'repository.expire';
    const specs: BlockSpec[] = this.meta.indexed.map((prop) => ({ prop, keep: true }));
    const outcome = await this.write(operation, 'updateEntity', id, specs, this.guess(id), attempts, (c, blocks) =>
      entityScripts.update.run(c, { hash, id, ttl, blocks, pairs: [], removed: [] }),
    );
    return outcome.kind === 'done' || this.gone(operation, id, attempts);
  }

  /** Deletes every target; true for each one that existed (and, if guarded, held the value). */
  async remove(operation: string, targets: readonly RemoveTarget[]): Promise<boolean[]> {
    if (targets.length === 0) return [];
    const attempts = new Attempts();
    const done = await this.driver.run(operation, (c) => this.removeWith(c, targets, attempts), WRITE);
    for (const t of targets) this.seen.delete(t.id);
    if (attempts.maybeApplied && done.some((d) => !d)) this.uncertain(operation, targets[done.indexOf(false)].id);
    return done;
  }

  /** The entities currently holding `enc` under index key `part` of `prop`: deleted with their entries. */
  async removeBy(operation: string, prop: string, enc: string, part: string): Promise<number> {
    const indexKey = this.indexKeyOf(prop, part);
    const block = this.meta.indexed.indexOf(prop);
    const attempts = new Attempts();
    const touched: string[] = [];
    const done = await this.driver.run(
      operation,
      async (c) => {
        // Reading the index is a read: a lost ZRANGE changes nothing, so it does not count as an attempt.
        const ids = await c.zrange(indexKey, 0, '-1');
        touched.push(...ids);
        const targets = ids.map((id) => {
          const guess = [...this.guess(id)];
          guess[block] = enc;
          return { id, guess, guard: { block, enc } };
        });
        return this.removeWith(c, targets, attempts);
      },
      WRITE,
    );
    for (const id of touched) this.seen.delete(id);
    // A member that no longer holds the value (or whose entity expired) is simply not deleted and
    // not counted; but after a lost attempt the count cannot tell "not there" from "deleted by
    // the attempt whose reply was lost".
    if (attempts.maybeApplied) this.uncertain(operation, `with ${prop} = ${enc}`);
    return done.filter(Boolean).length;
  }

  private async removeWith(c: Client, targets: readonly RemoveTarget[], attempts: Attempts): Promise<boolean[]> {
    if (this.meta.indexed.length === 0) {
      // Nothing to clean up: a plain UNLINK per entity (one pipeline per node) is the whole delete.
      const keys = targets.map((t) => this.keyOf(t.id));
      const n = await attempts.track(perNode<number>(c, keys, (p, key) => p.unlink(key)));
      return n.map((x) => x === 1);
    }
    if (this.driver.isCluster) return Promise.all(targets.map((t) => this.removeOnCluster(c, t, attempts)));
    // Standalone: the whole batch is one script; entities whose stored indexed values were
    // guessed wrong are retried with what the script reported.
    const result = new Array<boolean>(targets.length);
    let pending = targets.map((t, i) => ({ i, t, expected: [...t.guess] }));
    for (let attempt = 0; attempt <= this.driver.options.maxConflictRetries && pending.length > 0; attempt++) {
      const entries: DeleteEntry[] = pending.map((p) => ({
        hash: this.keyOf(p.t.id),
        id: p.t.id,
        guard: p.t.guard,
        blocks: this.meta.indexed.map((prop, k) => this.block({ prop, enc: '', part: undefined }, p.expected[k] ?? '')),
      }));
      const replies = await attempts.track(entityScripts.deleteMany.run(c, entries));
      const next: typeof pending = [];
      pending.forEach((p, k) => {
        const outcome = entityWriteOutcome('deleteEntities', (replies as unknown[])[k]);
        if (outcome.kind === 'stale') next.push({ ...p, expected: [...outcome.olds] });
        else result[p.i] = outcome.kind === 'done';
      });
      pending = next;
    }
    if (pending.length > 0) throw TidyKvEntityConflictError.retriesExhausted(this.meta.name, pending[0].t.id, this.driver.options.maxConflictRetries + 1);
    return result;
  }

  private async removeOnCluster(c: Client, t: RemoveTarget, attempts: Attempts): Promise<boolean> {
    const blocks = this.meta.indexed.map((prop) => this.block({ prop, enc: '', part: undefined }, ANY));
    const [reply] = (await attempts.track(entityScripts.deleteMany.run(c, [{ hash: this.keyOf(t.id), id: t.id, guard: t.guard, blocks }]))) as unknown[];
    const outcome = entityWriteOutcome('deleteEntities', reply);
    if (outcome.kind !== 'done') return false;
    const specs: BlockSpec[] = this.meta.indexed.map((prop) => ({ prop, enc: '', part: undefined }));
    await this.moveIndexEntries(c, t.id, specs, outcome, t.guess, attempts);
    return true;
  }

  /**
   * Runs one entity write. Standalone: the blocks name the index keys the stored values are
   * expected to live under; when the script reports other stored values it wrote nothing, and
   * the call is repeated with those, all within one deadline. Cluster: only the hash is touched
   * atomically (blocks say '*'), then the index entries are moved in their own slots.
   */
  private async write(
    operation: string,
    script: string,
    id: string,
    specs: readonly BlockSpec[],
    guess: readonly string[],
    attempts: Attempts,
    send: (c: Client, blocks: IndexBlock[]) => Promise<unknown>,
  ): Promise<EntityWriteOutcome> {
    if (this.driver.isCluster || specs.length === 0) {
      // A retried attempt keeps what the first one learnt: its reply names the values stored
      // before the write, which a re-sent write (finding its own values) could no longer report.
      let first: EntityWriteOutcome | undefined;
      return this.driver.run(
        operation,
        async (c) => {
          if (first === undefined) {
            const blocks = specs.map((s) => this.block(s, ANY));
            first = entityWriteOutcome(script, await attempts.track(send(c, blocks)));
          }
          if (first.kind === 'done' && specs.length > 0) await this.moveIndexEntries(c, id, specs, first, guess, attempts);
          return first;
        },
        WRITE,
      );
    }
    let expected = specs.map((s) => guess[this.meta.indexed.indexOf(s.prop)] ?? '');
    const tries = this.driver.options.maxConflictRetries + 1;
    return this.driver.run(
      operation,
      async (c) => {
        for (let attempt = 0; attempt < tries; attempt++) {
          const blocks = specs.map((s, i) => this.block(s, expected[i]));
          const outcome = entityWriteOutcome(script, await attempts.track(send(c, blocks)));
          if (outcome.kind !== 'stale') return outcome;
          expected = [...outcome.olds];
        }
        throw TidyKvEntityConflictError.retriesExhausted(this.meta.name, id, tries);
      },
      WRITE,
    );
  }

  /**
   * The one place a spec and an expected stored value become a script block. `ANY` (Cluster):
   * the script touches no index and reports what is stored; the index keys are moved afterwards.
   */
  private block(s: BlockSpec, expected: string): IndexBlock {
    if (expected === ANY) return { field: s.prop, newEnc: 'enc' in s ? s.enc : '', newKey: undefined, expectedEnc: ANY, expectedKey: undefined };
    const oldPart = this.codec.indexPartOfStored(s.prop, expected);
    const newEnc = 'keep' in s ? KEEP : s.enc;
    const newPart = 'keep' in s ? oldPart : s.part;
    return {
      field: s.prop,
      newEnc,
      newKey: newPart === undefined ? undefined : this.indexKeyOf(s.prop, newPart),
      expectedEnc: expected,
      expectedKey: oldPart === undefined ? undefined : this.indexKeyOf(s.prop, oldPart),
    };
  }

  // Cluster only: the entity write has happened; bring its index entries in line, in parallel.
  private async moveIndexEntries(
    c: Client,
    id: string,
    specs: readonly BlockSpec[],
    outcome: Extract<EntityWriteOutcome, { kind: 'done' }>,
    guess: readonly string[],
    attempts: Attempts,
  ): Promise<void> {
    // A delete has no new entries, so its score is never used.
    const score = outcome.expiresAt === null ? 'inf' : outcome.expiresAt;
    const calls: [string, number | 'inf' | 'del'][] = [];
    specs.forEach((s, i) => {
      const oldPart = this.codec.indexPartOfStored(s.prop, outcome.olds[i] ?? '');
      const newPart = 'keep' in s ? oldPart : s.part;
      // The guessed old value too: if an earlier attempt of this write landed unanswered, the
      // stored value it replaced is only known from the guess.
      const guessed = this.codec.indexPartOfStored(s.prop, guess[this.meta.indexed.indexOf(s.prop)] ?? '');
      for (const part of new Set([oldPart, guessed])) {
        if (part !== undefined && part !== newPart) calls.push([this.indexKeyOf(s.prop, part), 'del']);
      }
      if (newPart !== undefined) calls.push([this.indexKeyOf(s.prop, newPart), score]);
    });
    await Promise.all(calls.map(([key, arg]) => this.clusterIndexCall(c, attempts, key, id, arg)));
  }

  private async clusterIndexCall(c: Client, attempts: Attempts, index: string, id: string, score: number | 'inf' | 'del'): Promise<void> {
    await attempts.track(entityScripts.setIndexEntry.run(c, { index, id, score }));
  }

  /**
   * The answer of an update, expire or delete that found no entity. False ("did not exist") is
   * only true when no earlier attempt of the same call may have landed: after a dropped
   * connection and a re-send, the first attempt may have been the one that changed or deleted it.
   */
  private gone(operation: string, id: string, attempts: Attempts): false {
    this.seen.delete(id);
    if (attempts.maybeApplied) this.uncertain(operation, id);
    return false;
  }

  private uncertain(operation: string, what: string): never {
    throw new TidyKvOutcomeUnknownError(
      operation,
      new Error(`the connection dropped with the call in flight and the re-sent call found no entity ${what}: whether the first one applied is unknown`),
    );
  }

  // ------------------------------------------------------------------ reads

  /** HGETALL of every id: one pipeline per node. */
  readHashes(c: Client, keys: readonly string[]): Promise<Record<string, string>[]> {
    return perNode<Record<string, string>>(c, keys, (p, key) => p.hgetall(key));
  }

  /** HGET of one field of every key, grouped like {@link readHashes}. */
  readField(c: Client, keys: readonly string[], field: string): Promise<(string | null)[]> {
    return perNode<string | null>(c, keys, (p, key) => p.hget(key, field));
  }

  /**
   * The members of one index: every id that held the value when last written, in expiry order.
   * Members whose entity has expired are listed too until an insert prunes them (or the key
   * expires with its last member); callers verify each against its hash, which is gone.
   */
  members(c: Client, prop: string, part: string): Promise<string[]> {
    return c.zrange(this.indexKeyOf(prop, part), 0, '-1');
  }

  // ------------------------------------------------------------------ the seen-values cache

  guess(id: string): readonly string[] {
    return this.meta.indexed.length === 0 ? [] : (this.seen.get(id) ?? []);
  }

  remember(id: string, encodings: readonly string[]): void {
    if (this.meta.indexed.length > 0) this.seen.set(id, encodings);
  }

  rememberStored(id: string, raw: Record<string, string>): void {
    if (this.meta.indexed.length > 0) this.seen.set(id, this.meta.indexed.map((p) => raw[p] ?? ''));
  }

  forget(id: string): void {
    this.seen.delete(id);
  }
}
