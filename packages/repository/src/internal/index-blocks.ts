/**
 * What a write script is told about one @Indexed property: the 5-field block of
 * `includes/entity-write.lua`. Built only by {@link KeyList.blocks}, the one place that lays
 * them out.
 */
export interface IndexBlock {
  /** The hash field (property name). */
  readonly field: string;
  /**
   * Its new stored encoding; '' when the write leaves no entry (removed, null, a delete); {@link KEEP}
   * to keep the stored value (which must be the expected one) and re-score its entry.
   */
  readonly newEnc: string;
  /** Index key of the new entry; undefined for none. */
  readonly newKey: string | undefined;
  /**
   * The encoding the caller expects to be stored, naming the key its entry lives in; `'*'` accepts
   * anything and touches no index (Cluster mode, where index keys live in other slots).
   */
  readonly expectedEnc: string;
  /** Index key of the expected encoding's entry; undefined for none. */
  readonly expectedKey: string | undefined;
}

/** Cluster mode: touch only the hash, report the stored values (`'*'` expected encodings). */
export const ANY = '*';

/** A TTL change: keep the stored value and re-score its entry in the same key (`'*'` new encoding). */
export const KEEP = '*';

/**
 * The KEYS of one script call: distinct keys, each referenced by its 1-based position from the
 * blocks, so a key shared by two blocks (or two entities of a batch) is passed once.
 */
export class KeyList {
  readonly keys: string[] = [];
  private readonly positions = new Map<string, number>();

  constructor(first: readonly string[] = []) {
    for (const k of first) this.position(k);
  }

  /** The 1-based position of `key`, appending it when new. */
  position(key: string): number {
    let p = this.positions.get(key);
    if (p === undefined) {
      this.keys.push(key);
      p = this.keys.length;
      this.positions.set(key, p);
    }
    return p;
  }

  /** The ARGV of `blocks`: 5 entries each, in order (see includes/entity-write.lua). */
  blocks(blocks: readonly IndexBlock[]): (string | number)[] {
    const out: (string | number)[] = [];
    for (const b of blocks) {
      out.push(
        b.field,
        b.newEnc,
        b.newKey === undefined ? 0 : this.position(b.newKey),
        b.expectedEnc,
        b.expectedKey === undefined || b.expectedEnc === ANY ? 0 : this.position(b.expectedKey),
      );
    }
    return out;
  }
}
