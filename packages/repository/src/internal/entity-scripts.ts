import { TidyKvScript } from '@tidykv/core';
import * as sources from '../lua/scripts.generated.js';
import { KeyList, type IndexBlock } from './index-blocks.js';

/** Input of saveEntity: one entity, its TTL and its index blocks. */
export interface SaveEntityInput {
  readonly hash: string;
  readonly id: string;
  /** > 0 sets the TTL (ms); 0 keeps the one the hash has. */
  readonly ttlMs: number;
  readonly blocks: readonly IndexBlock[];
  /** Field/value pairs of the whole entity, at least one. */
  readonly pairs: readonly string[];
}

/** Input of saveFields: an entity without @Indexed properties. */
export interface SaveFieldsInput {
  readonly hash: string;
  /** > 0 sets the TTL (ms); 0 keeps the one the hash has. */
  readonly ttlMs: number;
  readonly pairs: readonly string[];
}

/** Input of updateFields: a patch that touches no @Indexed property. */
export interface UpdateFieldsInput {
  readonly hash: string;
  readonly pairs: readonly string[];
  readonly removed: readonly string[];
}

/** Input of updateEntity. */
export interface UpdateEntityInput {
  readonly hash: string;
  readonly id: string;
  /** 'keep' the TTL, 'persist' (remove it), or a new TTL in ms. */
  readonly ttl: 'keep' | 'persist' | number;
  readonly blocks: readonly IndexBlock[];
  readonly pairs: readonly string[];
  readonly removed: readonly string[];
}

/** One entity of a deleteEntities call. */
export interface DeleteEntry {
  readonly hash: string;
  readonly id: string;
  /** Delete only while the property of block `guard.block` (0-based) holds `guard.enc`. */
  readonly guard?: { readonly block: number; readonly enc: string };
  readonly blocks: readonly IndexBlock[];
}

/** Input of setIndexEntry. */
export interface SetIndexEntryInput {
  readonly index: string;
  readonly id: string;
  /** The entity's expiry in ms, 'inf' for none, or 'del' to remove the member. */
  readonly score: number | 'inf' | 'del';
}

const NAMESPACE = 'repo';

/** Every script of the repository, with its typed argument builder. Attach them to a client before use. */
export const entityScripts = {
  save: new TidyKvScript<SaveEntityInput>(sources.saveEntity, NAMESPACE, (x) => {
    const keys = new KeyList([x.hash]);
    return { keys: keys.keys, args: [x.id, x.ttlMs, x.blocks.length, ...keys.blocks(x.blocks), ...x.pairs] };
  }),
  saveFields: new TidyKvScript<SaveFieldsInput>(sources.saveFields, NAMESPACE, (x) => ({ keys: [x.hash], args: [x.ttlMs, ...x.pairs] })),
  updateFields: new TidyKvScript<UpdateFieldsInput>(sources.updateFields, NAMESPACE, (x) => ({ keys: [x.hash], args: [x.pairs.length / 2, ...x.pairs, ...x.removed] })),
  update: new TidyKvScript<UpdateEntityInput>(sources.updateEntity, NAMESPACE, (x) => {
    const keys = new KeyList([x.hash]);
    return { keys: keys.keys, args: [x.id, x.ttl, x.blocks.length, ...keys.blocks(x.blocks), x.pairs.length / 2, ...x.pairs, ...x.removed] };
  }),
  deleteMany: new TidyKvScript<readonly DeleteEntry[]>(sources.deleteEntities, NAMESPACE, (entries) => {
    const keys = new KeyList(entries.map((x) => x.hash));
    const args: (string | number)[] = [entries.length];
    for (const x of entries) {
      args.push(keys.position(x.hash), x.id, x.guard ? x.guard.block + 1 : 0, x.guard?.enc ?? '', x.blocks.length, ...keys.blocks(x.blocks));
    }
    return { keys: keys.keys, args };
  }),
  setIndexEntry: new TidyKvScript<SetIndexEntryInput>(sources.setIndexEntry, NAMESPACE, (x) => ({ keys: [x.index], args: [x.id, x.score] })),
} as const;
