import { describe, expect, it } from '@jest/globals';
import { crc64, hashPayload, restoreRefusal } from './hash-payload.js';

const hex = ([hi, lo]: [number, number]) => hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');

describe('hashPayload', () => {
  it('computes CRC-64/Jones the way Redis does (its check value for "123456789")', () => {
    expect(hex(crc64(Buffer.from('123456789')))).toBe('e9c6d914c4b8d9ca');
    expect(hex(crc64(Buffer.alloc(0)))).toBe('0000000000000000');
  });

  it('lays out a small hash as RDB_TYPE_HASH_LISTPACK: the listpack as an RDB string, RDB version 10, the CRC', () => {
    const p = hashPayload(['a', '1', 'bc', '']);
    // type 16, RDB string of 19 bytes: listpack total 19, 4 entries, (0x81 'a' 2) (0x81 '1' 2) (0x82 'b' 'c' 3) (0x80 1), end 0xFF
    expect([...p.subarray(0, p.length - 10)]).toEqual([16, 19, 19, 0, 0, 0, 4, 0, 0x81, 0x61, 2, 0x81, 0x31, 2, 0x82, 0x62, 0x63, 3, 0x80, 1, 0xff]);
    expect(p.readUInt16LE(p.length - 10)).toBe(10);
  });

  it('falls back to RDB_TYPE_HASH when asked, or when a value exceeds the listpack limits', () => {
    expect(hashPayload(['a', 'x'.repeat(65)])[0]).toBe(4);
    expect(hashPayload(['a', '1'], 'hash')[0]).toBe(4);
    expect(hashPayload(['a', 'x'.repeat(64)])[0]).toBe(16);
  });

  it('lays out RDB_TYPE_HASH, the pair count, length-prefixed strings, RDB version 9 and the CRC', () => {
    const p = hashPayload(['a', '1', 'bc', ''], 'hash');
    expect([...p.subarray(0, p.length - 10)]).toEqual([4, 2, 1, 0x61, 1, 0x31, 2, 0x62, 0x63, 0]);
    expect(p.readUInt16LE(p.length - 10)).toBe(9);
    const [hi, lo] = crc64(p, 0, p.length - 8);
    expect(p.readUInt32LE(p.length - 8)).toBe(lo);
    expect(p.readUInt32LE(p.length - 4)).toBe(hi);
  });

  it('encodes lengths in 6, 14 and 32 bits, counting UTF-8 bytes', () => {
    const at = (s: string) => [...hashPayload(['f', s], 'hash').subarray(4, 9)];
    expect(at('é')[0]).toBe(2);
    expect(at('x'.repeat(100)).slice(0, 2)).toEqual([0x40, 100]);
    expect(at('x'.repeat(20_000))).toEqual([0x80, 0, 0, 0x4e, 0x20]);
  });

  it('tells refusals of the payload and of the command from errors of the moment', () => {
    for (const m of ['ERR DUMP payload version or checksum are wrong', 'ERR Bad data format']) expect(restoreRefusal(new Error(m))).toBe('payload');
    for (const m of ["NOPERM User tidykv has no permissions to run the 'restore' command", "ERR unknown command 'restore', with args beginning with: "]) {
      expect(restoreRefusal(new Error(m))).toBe('command');
    }
    for (const m of ["OOM command not allowed when used memory > 'maxmemory'.", "READONLY You can't write against a read only replica.", 'MOVED 3999 127.0.0.1:6381']) {
      expect(restoreRefusal(new Error(m))).toBeUndefined();
    }
  });
});
