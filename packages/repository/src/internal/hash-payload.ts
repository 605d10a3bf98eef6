// Builds the serialized value `RESTORE key ttl <payload> REPLACE` takes, for a hash of string
// fields: the one Redis command that replaces a whole hash and sets its TTL atomically. A save
// of an entity without @Indexed properties and with a known TTL is then a single command that
// costs Redis about what the HSET + PEXPIRE a hand-written client would send costs
// (bench/repository), where a script or MULTI/EXEC costs two to four times that.
//
// The format is the one `DUMP` produces: an RDB object, the RDB version, and a CRC64 of both.
// Two encodings of the object:
// - `listpack`: the hash as Redis 7 keeps small hashes in memory (RDB_TYPE_HASH_LISTPACK, RDB
//   version 10), which RESTORE takes almost as is; used while every field and value fits the
//   default listpack limits (128 entries, 64 bytes), so the server ends up with exactly what an
//   HSET of those fields builds;
// - `hash`: a plain list of field/value strings (RDB_TYPE_HASH, RDB version 9, which Redis 5 to
//   6.2 read too), from which the server builds a listpack or a hashtable by its own settings.
// A server that refuses a payload or the command (an older server, an ACL without `restore`, a
// renamed command, a proxy) answers with an error before doing anything; the repository then
// steps down to the next encoding or to its save script (see entity-protocol.ts).

/** How a save of an entity without @Indexed reaches Redis, best first. */
export type PlainSaveMode = 'listpack' | 'hash' | 'script';

const RDB_TYPE_HASH = 4;
const RDB_TYPE_HASH_LISTPACK = 16;
const LISTPACK_MAX_ENTRIES = 128;
const LISTPACK_MAX_VALUE = 64;

/** RDB length encoding: 6, 14 or 32 bits (64 for the absurdly long). */
function lengthBytes(n: number): Buffer {
  if (n < 1 << 6) return Buffer.from([n]);
  if (n < 1 << 14) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  if (n <= 0xffffffff) {
    const b = Buffer.alloc(5);
    b[0] = 0x80;
    b.writeUInt32BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0x81;
  b.writeBigUInt64BE(BigInt(n), 1);
  return b;
}

/**
 * The `RESTORE` payload of a hash holding `pairs` (field, value, field, value...), in the
 * listpack encoding when it fits and `mode` allows it. Fields must be distinct.
 */
export function hashPayload(pairs: readonly string[], mode: Exclude<PlainSaveMode, 'script'> = 'listpack'): Buffer {
  const bytes = pairs.map((s) => Buffer.from(s, 'utf8'));
  const small = mode === 'listpack' && pairs.length / 2 <= LISTPACK_MAX_ENTRIES && bytes.every((b) => b.length <= LISTPACK_MAX_VALUE);
  const parts: Buffer[] = [];
  if (small) {
    const lp = listpack(bytes);
    parts.push(Buffer.from([RDB_TYPE_HASH_LISTPACK]), lengthBytes(lp.length), lp);
  } else {
    parts.push(Buffer.from([RDB_TYPE_HASH]), lengthBytes(pairs.length / 2));
    for (const b of bytes) parts.push(lengthBytes(b.length), b);
  }
  return withFooter(parts, small ? 10 : 9);
}

/** RDB object parts + RDB version (2 bytes LE) + CRC64 of everything before it (8 bytes LE). */
function withFooter(parts: readonly Buffer[], rdbVersion: number): Buffer {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const out = Buffer.allocUnsafe(size + 10);
  let at = 0;
  for (const p of parts) at += p.copy(out, at);
  out.writeUInt16LE(rdbVersion, at);
  at += 2;
  const [hi, lo] = crc64(out, 0, at);
  out.writeUInt32LE(lo, at);
  out.writeUInt32LE(hi, at + 4);
  return out;
}

/**
 * A listpack of string entries (Redis src/listpack.c): total bytes (uint32 LE), entry count
 * (uint16 LE), each entry as encoding + data + its backwards length, then 0xFF. Entries are
 * written as strings even when they look like integers (Redis would store "1" as an integer;
 * both are valid listpack entries and compare equal to the field name "1").
 */
function listpack(entries: readonly Buffer[]): Buffer {
  const chunks: Buffer[] = [];
  let size = 6 + 1;
  for (const e of entries) {
    const head = stringHeader(e.length);
    const back = backlen(head.length + e.length);
    chunks.push(head, e, back);
    size += head.length + e.length + back.length;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(size, 0);
  out.writeUInt16LE(entries.length, 4);
  let at = 6;
  for (const c of chunks) at += c.copy(out, at);
  out[at] = 0xff;
  return out;
}

/** The encoding byte(s) of a string entry of `n` bytes: 6-bit (10xxxxxx), 12-bit (1110xxxx) or 32-bit (0xF0) length. */
function stringHeader(n: number): Buffer {
  if (n < 64) return Buffer.from([0x80 | n]);
  if (n < 4096) return Buffer.from([0xe0 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0xf0;
  b.writeUInt32LE(n, 1);
  return b;
}

/**
 * The backwards-readable length of an entry of `l` bytes (encoding + data), as lpEncodeBacklen
 * writes it: 7 bits per byte, most significant group first; every byte after the first has its
 * high bit set, so a reader walking backwards knows when to stop.
 */
function backlen(l: number): Buffer {
  const groups: number[] = [];
  let rest = l;
  do {
    groups.unshift(rest & 127);
    rest = Math.floor(rest / 128);
  } while (rest > 0);
  return Buffer.from(groups.map((g, i) => (i === 0 ? g : g | 128)));
}

// CRC-64 as Redis computes it (src/crc64.c): the Jones polynomial, reflected, initial value 0, no
// final xor. Check value: crc64("123456789") = 0xe9c6d914c4b8d9ca. Held as two 32-bit halves,
// since a BigInt per byte would cost more than the rest of a save.
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;
const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let k = 0; k < 8; k++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}

/** CRC-64/Jones of `buf[start..end)`, as `[high 32 bits, low 32 bits]`. */
export function crc64(buf: Uint8Array, start = 0, end = buf.length): [number, number] {
  let hi = 0;
  let lo = 0;
  for (let i = start; i < end; i++) {
    const idx = (lo ^ buf[i]) & 0xff;
    lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ TABLE_LO[idx]) >>> 0;
    hi = ((hi >>> 8) ^ TABLE_HI[idx]) >>> 0;
  }
  return [hi, lo];
}

/**
 * What a `RESTORE` error says about this server, or undefined when it is an error of the moment
 * (OOM, READONLY, MOVED...) that passes through: `'payload'` when it does not read this payload
 * (an older RDB version: try the next encoding), `'command'` when it will not run RESTORE at all
 * (permissions, a renamed or unknown command: use the script). Either way nothing was applied.
 */
export function restoreRefusal(err: unknown): 'payload' | 'command' | undefined {
  if (!(err instanceof Error) || /^OOM/.test(err.message)) return undefined;
  if (/DUMP payload|Bad data format/i.test(err.message)) return 'payload';
  if (/^NOPERM|unknown command|not allowed|^ERR syntax/i.test(err.message)) return 'command';
  return undefined;
}
