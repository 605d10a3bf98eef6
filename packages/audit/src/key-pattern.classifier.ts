/**
 * Key-pattern grouping: id-like segments of a key are replaced by placeholders so that
 * `user:42:profile` and `user:43:profile` fall into one pattern `user:<num>:profile`.
 *
 * Keys are split on `:` and, inside a segment, around `{...}` hash tags. Each piece is classified
 * on its percent-decoded form (tidykv encodes ids with `encodeKeyPart`). Ordinary words must never
 * be taken for ids, so hex and tokens require digits and a minimum length.
 */

/** Placeholders a segment can be replaced with. */
export type IdKind = 'num' | 'uuid' | 'ulid' | 'email' | 'date' | 'hex' | 'token';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A ULID starts with its 48-bit timestamp, so the first character is 0-7; Crockford base32 has no I, L, O, U.
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;
const EMAIL = /^[^@\s:{}]+@[^@\s:{}]+\.[A-Za-z]{2,}$/;
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}(:?\d{2}){0,2}(\.\d+)?Z?)?$/;
// At least 8 hex characters and at least one digit: "deadbeef" or "facade" stay words, "5f3a9c01" is an id.
const HEX = /^(0x)?[0-9a-f]{8,}$/i;
const TOKEN = /^[A-Za-z0-9_-]{16,}={0,2}$/;

function isDigits(s: string): boolean {
  if (s.length === 0 || s.length > 30) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function countDigits(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** The kind of id `segment` looks like, or undefined for an ordinary word. */
export function classifySegment(segment: string): IdKind | undefined {
  let s = segment;
  if (s.includes('%')) {
    try {
      s = decodeURIComponent(s);
    } catch {
      // Not valid percent-encoding: classify it as written.
    }
  }
  if (isDigits(s) || (s.length > 1 && s[0] === '-' && isDigits(s.slice(1)))) return 'num';
  // Fast path: most literal segments (`user`, `sess`, `idx`) are short words.
  if (s.length < 8) return s.includes('@') && EMAIL.test(s) ? 'email' : undefined;
  if (s.includes('@')) return EMAIL.test(s) ? 'email' : undefined;
  if (s.length === 36 && UUID.test(s)) return 'uuid';
  if (s.length === 26 && ULID.test(s) && countDigits(s) > 0) return 'ulid';
  if (DATE.test(s)) return 'date';
  const digits = countDigits(s);
  if (digits > 0 && HEX.test(s)) return 'hex';
  if (s.length >= 16 && digits >= 2 && TOKEN.test(s)) {
    const upper = /[A-Z]/.test(s);
    const lower = /[a-z]/.test(s);
    // `user_profile_v2_cache_entries` has digits but is a name; random tokens mix cases or are digit-heavy.
    if ((upper && lower) || digits / s.length >= 0.2) return 'token';
  }
  return undefined;
}

function generalisePiece(piece: string): string {
  const kind = classifySegment(piece);
  return kind === undefined ? piece : `<${kind}>`;
}

function generaliseSegment(segment: string): string {
  const open = segment.indexOf('{');
  if (open === -1) return generalisePiece(segment);
  const close = segment.indexOf('}', open + 1);
  if (close === -1) return generalisePiece(segment);
  const before = segment.slice(0, open);
  const inside = segment.slice(open + 1, close);
  const after = segment.slice(close + 1);
  return `${before === '' ? '' : generalisePiece(before)}{${inside === '' ? '' : generalisePiece(inside)}}${after === '' ? '' : generaliseSegment(after)}`;
}

// Separators between the parts of a key name. `.` is only split on inside a part that is not an
// id as a whole, so `alice@example.com` and `2026-11-22T10:00:00.5Z` stay one id.
const COARSE_SEPARATORS = new Set([':', '/', '|', '#']);

function generaliseCoarse(segment: string): string {
  if (segment.includes('{')) return generaliseSegment(segment);
  const whole = classifySegment(segment);
  if (whole !== undefined) return `<${whole}>`;
  if (!segment.includes('.')) return segment;
  const pieces = segment.split('.');
  for (let i = 0; i < pieces.length; i++) pieces[i] = generalisePiece(pieces[i]);
  return pieces.join('.');
}

/**
 * The pattern of `key`: every id-like part replaced by `<num>`, `<uuid>`, `<ulid>`, `<email>`,
 * `<date>`, `<hex>` or `<token>`. Parts are separated by `:`, `/`, `|`, `#` and `.` (a part that
 * is an id as a whole, such as an e-mail address, is not split at its dots). Hash tags are kept:
 * `sess:{9b2f...}` becomes `sess:{<uuid>}`; inside `{...}` nothing is split.
 */
export function patternOf(key: string): string {
  let out = '';
  let from = 0;
  let depth = 0;
  for (let i = 0; i < key.length; i++) {
    const c = key[i];
    if (c === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    else if (depth === 0 && COARSE_SEPARATORS.has(c)) {
      out += generaliseCoarse(key.slice(from, i)) + c;
      from = i + 1;
    }
  }
  return out + generaliseCoarse(key.slice(from));
}

/** A pattern cut into its parts and the separators between them (`parts.length === seps.length + 1`). */
export interface PatternParts {
  parts: string[];
  seps: string[];
}

/** Cuts a pattern (or key) at `:`, `/`, `|`, `#` and `.`, never inside `{...}` or `<...>`. */
export function splitPattern(pattern: string): PatternParts {
  const parts: string[] = [];
  const seps: string[] = [];
  let from = 0;
  let brace = 0;
  let angle = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') brace++;
    else if (c === '}' && brace > 0) brace--;
    else if (c === '<' && brace === 0) angle = true;
    else if (c === '>' && angle) angle = false;
    else if (brace === 0 && !angle && (COARSE_SEPARATORS.has(c) || c === '.')) {
      parts.push(pattern.slice(from, i));
      seps.push(c);
      from = i + 1;
    }
  }
  parts.push(pattern.slice(from));
  return { parts, seps };
}

function joinParts(parts: readonly string[], seps: readonly string[]): string {
  let s = parts[0];
  for (let i = 0; i < seps.length; i++) s += seps[i] + parts[i + 1];
  return s;
}

/**
 * The SCAN MATCH glob of a pattern: each placeholder (`<num>`, `<*>`, `<other>`...) becomes `*`,
 * and glob characters in literal parts are escaped. `user:<num>:profile` gives `user:*:profile`,
 * which `--match` of `fix` accepts.
 */
export function patternToGlob(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '<') {
      const close = pattern.indexOf('>', i + 1);
      const inner = close === -1 ? '' : pattern.slice(i + 1, close);
      if (close !== -1 && /^(\*|[a-z]+)$/.test(inner)) {
        if (!out.endsWith('*')) out += '*';
        i = close;
        continue;
      }
    }
    out += '*?[]\\'.includes(c) ? `\\${c}` : c;
  }
  return out;
}

/** Id kinds that nest: every `num` is a valid `hex`, every `hex` a valid `token`. */
export type ChainKind = 'num' | 'hex' | 'token';

const CHAIN_RANK: Record<ChainKind, number> = { num: 1, hex: 2, token: 3 };
const CHAIN_BY_RANK: ChainKind[] = ['num', 'num', 'hex', 'token'];
const LOOSE_HEX = /^(0x)?[0-9a-f]{4,}$/i;
const LOOSE_TOKEN = /^[A-Za-z0-9_-]{16,}={0,2}$/;

/**
 * The narrowest id kind a literal part could be an instance of, judged loosely (no digit or
 * length rules): `a3f9c1` could be a `<hex>`, `Zx9kqLmPaRtYwBnC` a `<token>`. A family whose
 * members the strict {@link classifySegment} splits between `<num>` and words (six-hex job ids) or
 * between `<token>` and words (base64url tokens that happen to have one digit) is folded under
 * this kind instead of `<*>`.
 */
export function looseKind(literal: string): ChainKind | undefined {
  if (isDigits(literal)) return 'num';
  if (LOOSE_HEX.test(literal)) return 'hex';
  if (LOOSE_TOKEN.test(literal)) return 'token';
  return undefined;
}

/** A fold decided for one position: the placeholder that replaces the part there. */
export type FoldKind = ChainKind | '*';

function chainOf(part: string): ChainKind | undefined {
  return part === '<num>' || part === '<hex>' || part === '<token>' ? (part.slice(1, -1) as ChainKind) : undefined;
}

function isLiteral(part: string): boolean {
  return part.length > 0 && part[0] !== '<' && !part.includes('{');
}

function foldable(part: string): boolean {
  return isLiteral(part) || chainOf(part) !== undefined;
}

/** Whether a fold to `kind` takes `part`: `<*>` takes anything foldable, a chain kind its own instances. */
function accepts(kind: FoldKind, part: string): boolean {
  const chain = chainOf(part);
  if (kind === '*') return chain !== undefined || isLiteral(part);
  if (chain !== undefined) return CHAIN_RANK[chain] <= CHAIN_RANK[kind];
  if (!isLiteral(part)) return false;
  const loose = looseKind(part);
  return loose !== undefined && CHAIN_RANK[loose] <= CHAIN_RANK[kind];
}

interface Variants {
  /** Distinct literal values seen at this position (kept up to threshold + 1). */
  values: Set<string>;
  /** Every value seen is an instance of some chain kind. */
  allChain: boolean;
  /** Highest chain rank among the values and the id placeholders seen at this position. */
  rank: number;
}

/** What a {@link PatternFolder} must remember to resume (checkpoints). */
export interface PatternFolderState {
  live: string[];
  folded: [string, FoldKind][];
  variants: [string, { values: string[]; allChain: boolean; rank: number }][];
}

/** The pattern keys go to once {@link PatternFolder.maxPatterns} patterns exist. */
export const OTHER_PATTERN = '<other>';

/**
 * Folds patterns as the walk goes, in bounded memory, so that families stay together:
 *
 * - a position where more than `threshold` literal values occur (with everything else equal) is
 *   folded: into the widest chain kind (`<num>` < `<hex>` < `<token>`) when every value seen there
 *   is an instance of it ({@link looseKind}), else into `<*>`. Id placeholders of the same family at
 *   that position are absorbed, so `job:<num>` and six-hex `job:a3f9c1` both become `job:<hex>`,
 *   and `refresh:<token>` keeps the tokens the strict classifier missed;
 * - once `maxPatterns` patterns exist, keys of new patterns are counted under {@link OTHER_PATTERN}
 *   (their names still count towards folds, so a family that folds later is placed again).
 *
 * Memory is bounded by `maxPatterns` patterns, `maxPatterns * 8` tracked positions and
 * `threshold + 1` values per position, whatever the number of distinct key names.
 */
export class PatternFolder {
  private readonly live = new Set<string>();
  private readonly folded = new Map<string, FoldKind>();
  private readonly variants = new Map<string, Variants>();
  private readonly members = new Map<string, Set<string>>();
  private readonly maxTracked: number;
  // strict pattern -> resolved; most keys repeat a few strict patterns. Cleared on every fold.
  private readonly cache = new Map<string, string>();

  /**
   * @param threshold - more than this many literal values at one position fold it.
   * @param maxPatterns - live patterns at most; beyond, keys go to {@link OTHER_PATTERN}.
   * @param onMerge - called when pattern `from` is folded into `to`: move `from`'s figures into `to`.
   */
  constructor(
    readonly threshold: number,
    readonly maxPatterns: number,
    private readonly onMerge: (from: string, to: string) => void,
    state?: PatternFolderState,
  ) {
    this.maxTracked = maxPatterns * 8;
    if (state) {
      for (const [sig, kind] of state.folded) this.folded.set(sig, kind);
      for (const [sig, v] of state.variants) this.variants.set(sig, { values: new Set(v.values), allChain: v.allChain, rank: v.rank });
      for (const p of state.live) {
        this.live.add(p);
        this.index(p, true);
      }
    }
  }

  /** Number of live patterns. */
  get size(): number {
    return this.live.size;
  }

  /** The state to save in a checkpoint. */
  state(): PatternFolderState {
    return {
      live: [...this.live],
      folded: [...this.folded],
      variants: [...this.variants].map(([sig, v]) => [sig, { values: [...v.values], allChain: v.allChain, rank: v.rank }]),
    };
  }

  /** The pattern a strict pattern (from {@link patternOf}) stands under now, after the folds so far. */
  resolve(strict: string): string {
    if (this.folded.size === 0) return strict;
    const hit = this.cache.get(strict);
    if (hit !== undefined) return hit;
    const resolved = this.resolveUncached(strict);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(strict, resolved);
    return resolved;
  }

  private resolveUncached(strict: string): string {
    const { parts, seps } = splitPattern(strict);
    for (let pass = 0; pass < 8; pass++) {
      let changed = false;
      for (let i = 0; i < parts.length; i++) {
        if (!foldable(parts[i])) continue;
        const kind = this.folded.get(sigOf(parts, seps, i));
        if (kind !== undefined && accepts(kind, parts[i]) && parts[i] !== `<${kind}>`) {
          parts[i] = `<${kind}>`;
          changed = true;
        }
      }
      if (!changed) break;
    }
    return joinParts(parts, seps);
  }

  /**
   * Places one key, given its strict pattern: returns the live pattern to count it under (which
   * may be {@link OTHER_PATTERN}). May fold earlier patterns, reporting each through `onMerge`.
   */
  add(strict: string): string {
    const name = this.resolve(strict);
    if (this.live.has(name)) return name;
    if (this.live.size >= this.maxPatterns) {
      // Not placed, but its name still counts towards folds, which may place it after all.
      this.observe(name);
      const again = this.resolve(name);
      return this.live.has(again) ? again : OTHER_PATTERN;
    }
    this.live.add(name);
    this.index(name, false);
    this.observe(name);
    const final = this.resolve(name);
    return this.live.has(final) ? final : OTHER_PATTERN;
  }

  private index(pattern: string, add: boolean | 'remove'): void {
    const { parts, seps } = splitPattern(pattern);
    for (let i = 0; i < parts.length; i++) {
      if (!foldable(parts[i])) continue;
      const sig = sigOf(parts, seps, i);
      let m = this.members.get(sig);
      if (add === 'remove') {
        m?.delete(pattern);
        if (m?.size === 0) this.members.delete(sig);
        continue;
      }
      if (!m) this.members.set(sig, (m = new Set()));
      m.add(pattern);
    }
  }

  private observe(pattern: string): void {
    const { parts, seps } = splitPattern(pattern);
    for (let i = 0; i < parts.length; i++) {
      if (!foldable(parts[i])) continue;
      const sig = sigOf(parts, seps, i);
      let v = this.variants.get(sig);
      if (!v) {
        if (this.variants.size >= this.maxTracked) continue;
        this.variants.set(sig, (v = { values: new Set(), allChain: true, rank: 0 }));
      }
      const chain = chainOf(parts[i]);
      if (chain !== undefined) {
        v.rank = Math.max(v.rank, CHAIN_RANK[chain]);
        continue;
      }
      const current = this.folded.get(sig);
      if (current !== undefined && accepts(current, parts[i])) continue;
      if (v.values.size > this.threshold) continue;
      v.values.add(parts[i]);
      const loose = looseKind(parts[i]);
      if (loose === undefined) v.allChain = false;
      else v.rank = Math.max(v.rank, CHAIN_RANK[loose]);
      if (v.values.size > this.threshold) {
        const kind: FoldKind = v.allChain && current === undefined ? CHAIN_BY_RANK[v.rank] : '*';
        v.values.clear();
        this.fold(sig, kind);
        // Folding renamed this very pattern's family: the rest of its positions are indexed under the new name.
        return;
      }
    }
  }

  private fold(sig: string, kind: FoldKind): void {
    this.folded.set(sig, kind);
    this.cache.clear();
    const members = [...(this.members.get(sig) ?? [])];
    for (const m of members) {
      if (!this.live.has(m)) continue;
      const target = this.resolve(m);
      if (target === m) continue;
      this.live.delete(m);
      this.index(m, 'remove');
      const fresh = !this.live.has(target);
      if (fresh) {
        this.live.add(target);
        this.index(target, false);
      }
      this.onMerge(m, target);
      if (fresh) this.observe(target);
    }
  }
}

function sigOf(parts: readonly string[], seps: readonly string[], i: number): string {
  let s = `${i}\u0000`;
  for (let j = 0; j < parts.length; j++) {
    s += j === i ? '\u0001' : parts[j];
    if (j < seps.length) s += seps[j];
  }
  return s;
}

/**
 * Merges patterns that differ in a single literal segment shared by more than `threshold`
 * variants (`lock:alice`, `lock:bob`, ... become `lock:<*>`), so that user names and other
 * non-id values do not explode the report. `merge(into, from)` combines the values.
 */
export function foldPatterns<V>(patterns: Map<string, V>, threshold: number, merge: (into: V, from: V) => void): Map<string, V> {
  let current = patterns;
  // Fold position by position from the right, where variable parts usually are; a few passes suffice.
  for (let pass = 0; pass < 4; pass++) {
    const groups = new Map<string, string[]>();
    for (const p of current.keys()) {
      const segs = p.split(':');
      for (let i = segs.length - 1; i >= 0; i--) {
        if (segs[i].startsWith('<') || segs[i].includes('{')) continue;
        const sig = `${i}\u0000${segs.length}\u0000${segs.map((s, j) => (j === i ? '' : s)).join(':')}`;
        let g = groups.get(sig);
        if (!g) groups.set(sig, (g = []));
        g.push(p);
      }
    }
    const renamed = new Map<string, string>();
    for (const [sig, members] of groups) {
      if (members.length <= threshold) continue;
      const pos = Number(sig.slice(0, sig.indexOf('\u0000')));
      for (const m of members) {
        if (renamed.has(m)) continue;
        const segs = m.split(':');
        segs[pos] = '<*>';
        renamed.set(m, segs.join(':'));
      }
    }
    if (renamed.size === 0) return current;
    const next = new Map<string, V>();
    for (const [p, v] of current) {
      const to = renamed.get(p) ?? p;
      const existing = next.get(to);
      if (existing === undefined) next.set(to, v);
      else merge(existing, v);
    }
    current = next;
  }
  return current;
}
