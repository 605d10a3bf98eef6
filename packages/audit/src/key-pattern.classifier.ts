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

/**
 * The pattern of `key`: every id-like segment replaced by `<num>`, `<uuid>`, `<ulid>`, `<email>`,
 * `<date>`, `<hex>` or `<token>`. Hash tags are kept: `sess:{9b2f...}` becomes `sess:{<uuid>}`.
 */
export function patternOf(key: string): string {
  if (key.indexOf(':') === -1 && key.indexOf('{') === -1) return generalisePiece(key);
  const parts = key.split(':');
  for (let i = 0; i < parts.length; i++) parts[i] = generaliseSegment(parts[i]);
  return parts.join(':');
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
