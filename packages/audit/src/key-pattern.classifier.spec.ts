import { describe, expect, it } from '@jest/globals';
import { OTHER_PATTERN, PatternFolder, classifySegment, foldPatterns, looseKind, patternOf, patternToGlob, splitPattern } from './key-pattern.classifier.js';

describe('classifySegment', () => {
  it.each([
    ['42', 'num'],
    ['-7', 'num'],
    ['9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e', 'uuid'],
    ['01ARZ3NDEKTSV4RRFFQ69G5FAV', 'ulid'],
    ['alice@example.com', 'email'],
    ['alice%40example.com', 'email'],
    ['2026-11-22', 'date'],
    ['5f3a9c01', 'hex'],
    ['0x5f3a9c01ab', 'hex'],
    ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex'],
    ['Zx9_kq2LmP0aR7tYw3', 'token'],
    ['aGVsbG8gd29ybGQxMjM0NQ', 'token'],
  ])('recognises %s as <%s>', (segment, kind) => {
    expect(classifySegment(segment)).toBe(kind);
  });

  it.each(['user', 'session', 'sessions', 'deadbeef', 'facade', 'profile', 'expirations', 'user_profile_v2_cache_entries', 'PRINCIPAL_NAME_INDEX_NAME', 'getUserProfileV2Cache', 'org.springframework.session', 'v2', 'idx', 'phantom'])(
    'leaves the word %s alone',
    (segment) => {
      expect(classifySegment(segment)).toBeUndefined();
    },
  );
});

describe('patternOf', () => {
  it('replaces id-like segments and keeps literal ones', () => {
    expect(patternOf('user:42:profile')).toBe('user:<num>:profile');
    expect(patternOf('spring:session:sessions:9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e')).toBe('spring:session:sessions:<uuid>');
    expect(patternOf('spring:session:sessions:expires:9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e')).toBe('spring:session:sessions:expires:<uuid>');
    expect(patternOf('spring:session:expirations:1763769600000')).toBe('spring:session:expirations:<num>');
    expect(patternOf('mail:alice@example.com:inbox')).toBe('mail:<email>:inbox');
    expect(patternOf('plainkey')).toBe('plainkey');
    expect(patternOf('123')).toBe('<num>');
  });

  it('looks inside hash tags', () => {
    expect(patternOf('sess:{9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e}')).toBe('sess:{<uuid>}');
    expect(patternOf('tkv:users:{42}')).toBe('tkv:users:{<num>}');
    expect(patternOf('tkv:users:idx:email:{alice%40example.com}')).toBe('tkv:users:idx:email:{<email>}');
    expect(patternOf('tkv:u:{ab12}')).toBe('tkv:u:{ab12}');
    expect(patternOf('cache:{users}:42')).toBe('cache:{users}:<num>');
  });
});

describe('foldPatterns', () => {
  it('merges patterns that differ in one literal segment with many variants', () => {
    const m = new Map<string, { n: number }>();
    for (let i = 0; i < 60; i++) m.set(`lock:user${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}:held`, { n: 1 });
    m.set('config:main', { n: 5 });
    const folded = foldPatterns(m, 50, (into, from) => {
      into.n += from.n;
    });
    expect([...folded.keys()].sort()).toEqual(['config:main', 'lock:<*>:held']);
    expect(folded.get('lock:<*>:held')!.n).toBe(60);
  });

  it('keeps patterns with few variants apart', () => {
    const m = new Map([
      ['a:x', 1],
      ['a:y', 2],
    ]);
    expect([...foldPatterns(m, 50, () => {}).keys()]).toEqual(['a:x', 'a:y']);
  });
});

describe('patternOf with other separators', () => {
  it('recognises / . | # besides :', () => {
    expect(patternOf('cache/product/42')).toBe('cache/product/<num>');
    expect(patternOf('user.42.profile')).toBe('user.<num>.profile');
    expect(patternOf('a|5f3a9c01|b')).toBe('a|<hex>|b');
    expect(patternOf('doc#9b2f5c1e-3d4a-4b6c-8d7e-0f1a2b3c4d5e')).toBe('doc#<uuid>');
    expect(patternOf('api/v2/users/42/avatar.png')).toBe('api/v2/users/<num>/avatar.png');
  });

  it('keeps ids that contain dots whole, and names with dots as words', () => {
    expect(patternOf('mail:alice@example.com:inbox')).toBe('mail:<email>:inbox');
    expect(patternOf('mail/alice@example.com')).toBe('mail/<email>');
    expect(patternOf('org.springframework.session')).toBe('org.springframework.session');
    expect(patternOf('tkv:users:idx:email:{alice%40example.com}')).toBe('tkv:users:idx:email:{<email>}');
    expect(patternOf('{a/b.c}:42')).toBe('{a/b.c}:<num>');
  });
});

describe('splitPattern', () => {
  it('cuts at every separator but never inside {...} or <...>', () => {
    expect(splitPattern('a:b/c.d|e#f')).toEqual({ parts: ['a', 'b', 'c', 'd', 'e', 'f'], seps: [':', '/', '.', '|', '#'] });
    expect(splitPattern('sess:{x:y}:<num>')).toEqual({ parts: ['sess', '{x:y}', '<num>'], seps: [':', ':'] });
  });
});

describe('patternToGlob', () => {
  it.each([
    ['user:<num>:profile', 'user:*:profile'],
    ['sess:{<uuid>}', 'sess:{*}'],
    ['lock:<*>:held', 'lock:*:held'],
    ['<other>', '*'],
    ['cache/product/<num>', 'cache/product/*'],
    ['odd*name?[x]\\y:<num>', 'odd\\*name\\?\\[x\\]\\\\y:*'],
    ['a:<num>.<num>', 'a:*.*'],
  ])('%s gives the SCAN glob %s', (pattern, glob) => {
    expect(patternToGlob(pattern)).toBe(glob);
  });
});

describe('looseKind', () => {
  it.each([
    ['123456', 'num'],
    ['a3f9c1', 'hex'],
    ['abcdef', 'hex'],
    ['Zx9kqLmPaRtYwBnC', 'token'],
    ['Zx9_kqLmPaRtYwBnC-0', 'token'],
  ])('%s could be a <%s>', (literal, kind) => {
    expect(looseKind(literal)).toBe(kind);
  });
  it.each(['alice', 'lock', 'user_profile', 'short-tok'])('%s is no id at all', (literal) => {
    expect(looseKind(literal)).toBeUndefined();
  });
});

/** Deterministic pseudo-random generator, so the families below are the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

function fromAlphabet(next: () => number, alphabet: string, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(next() * alphabet.length)];
  return out;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function folded(keys: string[], threshold = 50, maxPatterns = 2000): Map<string, number> {
  const counts = new Map<string, number>();
  const folder = new PatternFolder(threshold, maxPatterns, (from, to) => {
    counts.set(to, (counts.get(to) ?? 0) + (counts.get(from) ?? 0));
    counts.delete(from);
  });
  for (const k of keys) {
    const p = folder.add(patternOf(k));
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  return counts;
}

describe('PatternFolder', () => {
  it('keeps one family under one id class: tokens, six-hex ids, separators other than :', () => {
    const next = rng(7);
    const keys: string[] = [];
    for (let i = 0; i < 8000; i++) keys.push(`refresh:${fromAlphabet(next, B64URL, 22)}`);
    for (let i = 0; i < 3000; i++) keys.push(`job:${fromAlphabet(next, '0123456789abcdef', 6)}`);
    for (let i = 0; i < 3000; i++) keys.push(`token:${fromAlphabet(next, B64URL, 32)}`);
    for (let i = 0; i < 2000; i++) keys.push(`cache/product/${i}`, `user.${i}.profile`);
    // The strict classifier alone splits these families (the reason for the folder):
    const strict = new Set(keys.filter((k) => k.startsWith('refresh:')).map(patternOf));
    expect(strict.size).toBeGreaterThan(1);
    const counts = folded(keys);
    expect(Object.fromEntries(counts)).toEqual({
      'refresh:<token>': 8000,
      'job:<hex>': 3000,
      'token:<token>': 3000,
      'cache/product/<num>': 2000,
      'user.<num>.profile': 2000,
    });
  });

  it('folds literal values that fit no id kind into <*>, and absorbs the id placeholders of the family', () => {
    const keys: string[] = [];
    for (let i = 0; i < 60; i++) keys.push(`lock:user${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}:held`);
    keys.push('lock:42:held', 'config:main');
    expect(Object.fromEntries(folded(keys))).toEqual({ 'lock:<*>:held': 61, 'config:main': 1 });
  });

  it('leaves families with few literal values alone', () => {
    expect(Object.fromEntries(folded(['a:x', 'a:y', 'a:42']))).toEqual({ 'a:x': 1, 'a:y': 1, 'a:<num>': 1 });
  });

  it('stays bounded on names it cannot fold: at most maxPatterns patterns, the rest under <other>', () => {
    const next = rng(11);
    const keys: string[] = [];
    // Two free parts per name: no single position repeats, so nothing can fold.
    for (let i = 0; i < 20_000; i++) keys.push(`${fromAlphabet(next, 'abcdefghij', 5)}-x:${fromAlphabet(next, 'klmnopqrst', 5)}-y`);
    const folder = new PatternFolder(50, 500, () => {});
    const placed = new Map<string, number>();
    for (const k of keys) {
      const p = folder.add(patternOf(k));
      placed.set(p, (placed.get(p) ?? 0) + 1);
    }
    expect(folder.size).toBeLessThanOrEqual(500);
    expect(placed.get(OTHER_PATTERN)).toBeGreaterThan(19_000);
    // What it remembers is bounded too: positions tracked and values per position.
    const state = folder.state();
    expect(state.variants.length).toBeLessThanOrEqual(500 * 8);
    expect(Math.max(...state.variants.map(([, v]) => v.values.length))).toBeLessThanOrEqual(51);
  });

  it('resumes from its state with the same folds', () => {
    const keys = Array.from({ length: 200 }, (_, i) => `lock:name${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`);
    const a = new PatternFolder(50, 100, () => {});
    for (const k of keys.slice(0, 100)) a.add(patternOf(k));
    const b = new PatternFolder(50, 100, () => {}, JSON.parse(JSON.stringify(a.state())) as ReturnType<PatternFolder['state']>);
    expect(b.add(patternOf(keys[150]))).toBe('lock:<*>');
    expect(b.size).toBe(a.size);
  });
});
