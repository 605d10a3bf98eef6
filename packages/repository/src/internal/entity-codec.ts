import { encodeKeyPart, jsonCodec, TidyKvCodecError, TidyKvDecodeError } from '@tidykv/core';
import { EntityValueError } from '../repository.errors.js';
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

/**
 * Converts entities to hash fields and back. Every property is stored with the JSON codec of
 * @tidykv/core, which round-trips strings, numbers, booleans, null, Dates, nested objects and
 * arrays exactly; an undefined property is simply not stored.
 */
export class EntityCodec {
  /** Every stored property except the id, in a stable order. */
  readonly properties: readonly string[];
  private readonly known: Set<string>;

  constructor(readonly meta: EntityMetadata) {
    const props = new Set<string>(meta.declared);
    for (const p of probeFields(meta)) if (p !== meta.idProperty) props.add(p);
    this.properties = Object.freeze([...props]);
    this.known = new Set(props);
  }

  /** The id of `entity`, validated (a non-empty string). */
  idOf(entity: object): string {
    if (entity === null || typeof entity !== 'object') {
      throw new EntityValueError(this.meta.name, this.meta.idProperty, `expected an entity object, received ${entity === null ? 'null' : typeof entity}.`);
    }
    const id = (entity as Record<string, unknown>)[this.meta.idProperty];
    if (typeof id !== 'string' || id.length === 0) {
      throw new EntityValueError(this.meta.name, this.meta.idProperty, `the @Id() property must hold a non-empty string, received ${id === '' ? 'an empty string' : typeof id}.`);
    }
    return id;
  }

  /** Encodes a whole entity for `save`. Throws before anything is written when a value cannot be stored. */
  encode(entity: object): EncodedEntity {
    const id = this.idOf(entity);
    const record = entity as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (key !== this.meta.idProperty && !this.known.has(key) && record[key] !== undefined) {
        // Storing it would work, but reading it back would drop it: refuse rather than lose data.
        throw new EntityValueError(
          this.meta.name,
          key,
          'the property is not declared on the class, so it would not be read back. Declare it as a class field or mark it @Field().',
        );
      }
    }
    const pairs: string[] = [];
    for (const p of this.properties) {
      const v = record[p];
      if (v !== undefined) pairs.push(p, this.encodeValue(p, v));
    }
    if (pairs.length === 0) pairs.push(MARKER_FIELD, '1');
    const { encodings, parts } = this.indexed(record);
    return { id, pairs, indexedEncodings: encodings, indexedParts: parts, ttlMs: this.ttlOf(record) };
  }

  /** Encodes one property value. */
  encodeValue(property: string, value: unknown): string {
    try {
      return jsonCodec.encode(value);
    } catch (err) {
      if (err instanceof TidyKvCodecError) throw new EntityValueError(this.meta.name, property, err.message);
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
    else {
      throw new EntityValueError(this.meta.name, property, 'an @Indexed() property must hold a string, number, boolean, Date, null or undefined.');
    }
    if (s === '') return '%';
    try {
      return encodeKeyPart(s);
    } catch (err) {
      throw new EntityValueError(this.meta.name, property, `the value cannot be indexed: ${(err as Error).message}`);
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
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
          throw new EntityValueError(this.meta.name, p, `the @TimeToLive() property must hold a positive number of seconds, null or undefined; received ${String(v)}.`);
        }
        return Math.max(1, Math.round(v * 1000));
      }
    }
    return this.meta.defaultTtlMs ?? 0;
  }

  /**
   * Builds an entity from an HGETALL reply, or null for an empty reply (a missing key): never a
   * ghost object. Fields that are not properties of the class are ignored; a field that does not
   * decode raises {@link TidyKvDecodeError} naming the key and the field.
   */
  decode<T>(key: string, id: string, raw: Record<string, string>): T | null {
    let any = false;
    const out = Object.create(this.meta.target.prototype as object) as Record<string, unknown>;
    out[this.meta.idProperty] = id;
    for (const field in raw) {
      any = true;
      if (!this.known.has(field)) continue;
      try {
        out[field] = jsonCodec.decode(raw[field]);
      } catch (err) {
        throw new TidyKvDecodeError(key, field, err);
      }
    }
    return any ? (out as T) : null;
  }
}

// A no-argument instance reveals the class fields (ES2022 class fields are own properties from
// construction). Classes whose constructor needs arguments declare their fields with @Field().
function probeFields(meta: EntityMetadata): string[] {
  try {
    const instance = Reflect.construct(meta.target as unknown as Function, []) as object;
    return Object.keys(instance);
  } catch {
    return [];
  }
}
