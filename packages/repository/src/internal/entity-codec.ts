import { describeValue, encodeKeyPart, jsonCodec, TidyKvCodecError, TidyKvDecodeError } from '@tidykv/core';
import { TidyKvEntityValueError as EntityValueError } from '../repository.errors.js';
import type { EntityMetadata } from './entity-metadata.js';

/** Hash field kept in an entity that has no other stored property, because Redis has no empty hashes. */
export const MARKER_FIELD = '@';

/** One entity ready to be written. */
export interface EncodedEntity {
  readonly id: string;
  /** Field/value pairs, never empty (the marker field stands in for an entity with no properties). */
  readonly pairs: string[];
  /** Stored encoding of each indexed property, in metadata order; '' when undefined. */
  readonly indexedEncodings: string[];
  /** Index key part of each indexed property, or undefined when the value is null/undefined. */
  readonly indexedParts: (string | undefined)[];
  /** TTL in ms to apply, or 0 for "keep whatever TTL the stored hash has". */
  readonly ttlMs: number;
}

/** A patch of {@link EntityRepository.update}, encoded. */
export interface EncodedPatch {
  /** Field/value pairs to set. */
  readonly pairs: string[];
  /** Fields to remove (properties set to undefined). */
  readonly removed: string[];
  /** The indexed properties the patch writes: new encoding ('' when removed) and index key part. */
  readonly indexed: { readonly prop: string; readonly enc: string; readonly part: string | undefined }[];
}

/**
 * Converts entities to hash fields and back. Every property is stored with the JSON codec of
 * @tidykv/core, which round-trips strings, numbers, booleans, null, Dates, nested objects and
 * arrays exactly; an undefined property is simply not stored.
 *
 * Which properties: those the decorators declare, plus every own enumerable property of the
 * instance being saved. Nothing is learned by constructing the class: with
 * `useDefineForClassFields: false` (TypeScript's default below ES2022) an undecorated field is
 * not an own property of `new Entity()`, and such probing silently lost data.
 */
export class EntityCodec {
  private readonly declared: ReadonlySet<string>;

  constructor(readonly meta: EntityMetadata) {
    this.declared = new Set(meta.declared);
  }

  /** The id of `entity`, validated (a non-empty string). */
  idOf(entity: object): string {
    if (entity === null || typeof entity !== 'object') {
      throw EntityValueError.badArgument(this.meta.name, this.meta.idProperty, `expected an entity object, received ${entity === null ? 'null' : typeof entity}.`);
    }
    const id = (entity as Record<string, unknown>)[this.meta.idProperty];
    if (typeof id !== 'string' || id.length === 0) {
      throw EntityValueError.badId(this.meta.name, this.meta.idProperty, id === '' ? 'an empty string' : typeof id);
    }
    return id;
  }

  /** Encodes a whole entity for `save`. Throws before anything is written when a value cannot be stored. */
  encode(entity: object): EncodedEntity {
    const id = this.idOf(entity);
    const record = entity as Record<string, unknown>;
    const pairs: string[] = [];
    const own = Object.keys(record);
    for (const p of own) this.push(pairs, p, record[p]);
    // Declared properties that are not own (an accessor on the prototype, say) are stored too.
    if (this.meta.declared.length > 0) {
      const ownSet = own.length > 4 ? new Set(own) : undefined;
      for (const p of this.meta.declared) if (!(ownSet ? ownSet.has(p) : own.includes(p))) this.push(pairs, p, record[p]);
    }
    if (pairs.length === 0) pairs.push(MARKER_FIELD, '1');
    const { encodings, parts } = this.indexed(record);
    return { id, pairs, indexedEncodings: encodings, indexedParts: parts, ttlMs: this.ttlOf(record) };
  }

  private push(pairs: string[], property: string, value: unknown): void {
    if (property === this.meta.idProperty || value === undefined) return;
    this.checkName(property);
    pairs.push(property, this.encodeValue(property, value));
  }

  /** Refuses property names that cannot round-trip as hash fields. */
  checkName(property: string): void {
    if (property === MARKER_FIELD) {
      throw EntityValueError.reservedName(this.meta.name, property, `"${MARKER_FIELD}" is the field that keeps an entity without properties in Redis.`);
    }
    if (property === '__proto__') {
      throw EntityValueError.reservedName(this.meta.name, property, 'reading it back would replace the entity\'s prototype, so it is never restored.');
    }
  }

  /**
   * Encodes the patch of `update()`: any property but the id (which it may repeat unchanged).
   * Properties set to undefined are removed.
   */
  encodePatch(id: string, patch: object): EncodedPatch {
    const record = patch as Record<string, unknown>;
    const pairs: string[] = [];
    const removed: string[] = [];
    const indexed: EncodedPatch['indexed'] = [];
    for (const prop of Object.keys(record)) {
      const v = record[prop];
      if (prop === this.meta.idProperty) {
        if (v === undefined || v === id) continue;
        throw EntityValueError.badArgument(this.meta.name, prop, 'update() cannot change the id; save a new entity and delete the old one.');
      }
      this.checkName(prop);
      const enc = v === undefined ? '' : this.encodeValue(prop, v);
      if (v === undefined) removed.push(prop);
      else pairs.push(prop, enc);
      if (this.meta.indexed.includes(prop)) indexed.push({ prop, enc, part: v === undefined || v === null ? undefined : this.indexPart(prop, v) });
    }
    // A patched @TimeToLive value is stored (the TTL itself only changes with expire()), but it must be one a save would accept.
    const ttlProp = this.meta.ttlProperty;
    if (ttlProp !== undefined && record[ttlProp] !== undefined) this.ttlOf(record);
    return { pairs, removed, indexed };
  }

  /** Encodes one property value. */
  encodeValue(property: string, value: unknown): string {
    // jsonCodec refuses what would not read back equal, a `__proto__` key included (decoding drops it).
    try {
      return jsonCodec.encode(value);
    } catch (err) {
      if (err instanceof TidyKvCodecError) throw EntityValueError.notStorable(this.meta.name, property, err.message);
      throw err;
    }
  }

  /** Stored encodings and index key parts of the indexed properties of `record` (missing = undefined). */
  indexed(record: Record<string, unknown>): { encodings: string[]; parts: (string | undefined)[] } {
    const encodings: string[] = [];
    const parts: (string | undefined)[] = [];
    for (const p of this.meta.indexed) {
      const v = record[p];
      encodings.push(v === undefined ? '' : this.encodeValue(p, v));
      parts.push(v === undefined || v === null ? undefined : this.indexPart(p, v));
    }
    return { encodings, parts };
  }

  /**
   * The key part of an index entry for `value`: a readable form, percent-encoded like ids. Values
   * of different types may share a part ("1" and 1); reads compare the exact stored encoding.
   */
  indexPart(property: string, value: unknown): string {
    let s: string;
    if (typeof value === 'string') s = value;
    else if (typeof value === 'number' || typeof value === 'boolean') s = String(value);
    else if (value instanceof Date) s = Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    else throw EntityValueError.notIndexable(this.meta.name, property);
    if (s === '') return '%';
    try {
      return encodeKeyPart(s);
    } catch (err) {
      throw EntityValueError.notIndexable(this.meta.name, property, `the value cannot be indexed: ${(err as Error).message}`);
    }
  }

  /** The index key part for a stored encoding (from a script reply), or undefined when it has no entry. */
  indexPartOfStored(property: string, stored: string): string | undefined {
    if (stored === '' || stored === 'null') return undefined;
    try {
      return this.indexPart(property, jsonCodec.decode(stored));
    } catch {
      // A value another program wrote: it never had an index entry of ours.
      return undefined;
    }
  }

  /** TTL in ms for a save: the instance's @TimeToLive value, else the class default, else 0 (keep). */
  ttlOf(record: Record<string, unknown>): number {
    const p = this.meta.ttlProperty;
    if (p !== undefined) {
      const v = record[p];
      if (v !== undefined && v !== null) {
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw EntityValueError.badTimeToLive(this.meta.name, p, describeValue(v));
        return Math.max(1, Math.round(v * 1000));
      }
    }
    return this.meta.defaultTtlMs ?? 0;
  }

  /**
   * Builds an entity from an HGETALL reply, or null for an empty reply (a missing key): never a
   * ghost object. Every stored field that decodes is restored, except the marker field (and a
   * field named like the id property or `__proto__`, which only foreign data can hold). A field
   * the class declares that does not decode raises {@link TidyKvDecodeError} naming the key and the
   * field; an undeclared one is taken for another program's data and ignored.
   */
  decode<T>(key: string, id: string, raw: Record<string, string>): T | null {
    let any = false;
    const out = Object.create(this.meta.target.prototype as object) as Record<string, unknown>;
    out[this.meta.idProperty] = id;
    for (const field in raw) {
      any = true;
      if (field === MARKER_FIELD || field === this.meta.idProperty || field === '__proto__') continue;
      let value: unknown;
      try {
        value = jsonCodec.decode(raw[field]);
      } catch (err) {
        if (this.declared.has(field)) throw new TidyKvDecodeError(key, field, err);
        continue;
      }
      out[field] = value;
    }
    return any ? (out as T) : null;
  }
}
