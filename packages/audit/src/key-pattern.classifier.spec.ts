import { describe, expect, it } from '@jest/globals';
import { classifySegment, foldPatterns, patternOf } from './key-pattern.classifier.js';

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
