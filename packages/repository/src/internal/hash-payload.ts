// Builds the serialized value `RESTORE key ttl <payload> REPLACE` takes, for a hash of string
// fields: the one Redis command that replaces a whole hash and sets its TTL atomically. A save
// of an entity without @Indexed properties and with a known TTL is then a single command that
// costs Redis less than the HSET + PEXPIRE a hand-written client would send (bench/repository),
// where a script or MULTI/EXEC costs two to four times that.
//
// The format is the one `DUMP` produces: an RDB object, the RDB version, and a CRC64 of both.
// The object is written in the oldest hash encoding (RDB_TYPE_HASH, a plain list of field/value
// strings), stamped with RDB version 9 (Redis 5 to 6.2): every later server loads it, and builds
// the same listpack or hashtable an HSET of those fields builds. A server that refuses it (an
// ACL without `restore`, a renamed command, a proxy) answers with an error before doing
// anything, and the repository falls back to its save script (see entity-protocol.ts).

const RDB_TYPE_HASH = 4;
const RDB_VERSION = 9;

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

/** The `RESTORE` payload of a hash holding `pairs` (field, value, field, value...). Fields must be distinct. */
export function hashPayload(pairs: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from([RDB_TYPE_HASH]), lengthBytes(pairs.length / 2)];
  let size = parts[0].length + parts[1].length;
  for (const s of pairs) {
    const bytes = Buffer.from(s, 'utf8');
    const len = lengthBytes(bytes.length);
    parts.push(len, bytes);
    size += len.length + bytes.length;
  }
  const out = Buffer.allocUnsafe(size + 10);
  let at = 0;
  for (const p of parts) at += p.copy(out, at);
  out.writeUInt16LE(RDB_VERSION, at);
  at += 2;
  const [hi, lo] = crc64(out, 0, at);
  out.writeUInt32LE(lo, at);
  out.writeUInt32LE(hi, at + 4);
  return out;
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
 * True for a `RESTORE` error that says this server will not take the command or the payload
 * (permissions, a renamed or unknown command, a payload format it does not read): nothing was
 * applied, and saves should use the script from now on. Other errors (OOM, READONLY, MOVED...)
 * are about the moment, not the command, and pass through.
 */
export function isRestoreRefusal(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /^NOPERM|unknown command|DUMP payload|Bad data format|not allowed|^ERR syntax/i.test(err.message) && !/^OOM/.test(err.message);
}
