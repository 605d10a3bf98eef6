import { describe, expect, it } from '@jest/globals';
import { keySlot } from './key-slot.js';

describe('keySlot', () => {
  it('matches the slots Redis documents (CLUSTER KEYSLOT)', () => {
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('somekey')).toBe(11058);
  });

  it('hashes only the first non-empty {tag}', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('tkv:x:{abc}:suffix')).toBe(keySlot('abc'));
    expect(keySlot('foo{}{bar}')).toBe(keySlot('foo{}{bar}'));
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
  });
});
