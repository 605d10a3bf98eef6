import { describe, expect, it } from '@jest/globals';
import { KeyBuilder, decodeKeyPart, encodeKeyPart, escapeGlob } from './key-builder.js';
import { TidyKvConfigError, TidyKvKeyError } from './tidykv.errors.js';

const HOSTILE = ['a:b', 'a}b', '{a}', 'a{b', '*', 'a?b', '[abc]', 'a b', 'ünï©ødé', '🔑', '%41', 'A', '\\*', 'x:*:y', '\n', 'a%3Ab'];

describe('encodeKeyPart', () => {
  it('leaves ordinary ids (UUIDs, numbers, tokens) unchanged', () => {
    for (const id of ['7f0c2e3a-1b2c-4d5e-8f90-a1b2c3d4e5f6', '12345', 'abc_DEF.ghi~jk-l']) expect(encodeKeyPart(id)).toBe(id);
  });

  it('produces only safe characters for hostile ids, and decodes back', () => {
    for (const id of HOSTILE) {
      const part = encodeKeyPart(id);
      expect(part).toMatch(/^[A-Za-z0-9_.~%-]+$/);
      expect(decodeKeyPart(part)).toBe(id);
    }
  });

  it('refuses a lone surrogate, which UTF-8 would turn into U+FFFD and so into another id\'s key', () => {
    expect(() => encodeKeyPart('a\uD800')).toThrow(TidyKvKeyError);
    expect(() => encodeKeyPart('\uDC00')).toThrow(/well-formed Unicode/);
    expect(encodeKeyPart('\uFFFD')).toBe('%EF%BF%BD');
    expect(decodeKeyPart(encodeKeyPart('🔑'))).toBe('🔑');
  });

  it('is injective: distinct hostile ids never share a key part', () => {
    const parts = new Set(HOSTILE.map(encodeKeyPart));
    expect(parts.size).toBe(HOSTILE.length);
  });

  it('rejects empty, non-string and over-long ids with a typed error', () => {
    expect(() => encodeKeyPart('')).toThrow(TidyKvKeyError);
    expect(() => encodeKeyPart(5 as unknown as string)).toThrow(TidyKvKeyError);
    expect(() => encodeKeyPart('x'.repeat(513))).toThrow(/at most 512/);
  });
});

describe('KeyBuilder', () => {
  it('hash-tags the id so an id cannot open or close a tag', () => {
    const k = new KeyBuilder('app:');
    expect(k.tagged('s', 'abc')).toBe('app:s:{abc}');
    expect(k.tagged('s', 'a}b{c', 'idx')).toBe('app:s:{a%7Db%7Bc}:idx');
  });

  it('rejects prefixes that could break hash tags or globs, naming the option', () => {
    for (const bad of ['a{', 'a*', 'a b', 5]) {
      expect(() => new KeyBuilder(bad as string, 'SessionModule.keyPrefix')).toThrow(TidyKvConfigError);
    }
    expect(() => new KeyBuilder('a{', 'SessionModule.keyPrefix')).toThrow(/SessionModule\.keyPrefix.*"a\{"/);
  });

  it('escapes glob characters for SCAN MATCH', () => {
    expect(escapeGlob('a*b?c[d]e\\f')).toBe('a\\*b\\?c\\[d\\]e\\\\f');
    expect(new KeyBuilder('p:').pattern('s')).toBe('p:s:*');
  });
});
