import { describe, expect, it } from '@jest/globals';
import { keySlot } from './key-slot.js';

describe('keySlot', () => {
  it('matches CLUSTER KEYSLOT', () => {
    // Values from `redis-cli CLUSTER KEYSLOT <key>` on a cluster node.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('hello')).toBe(866);
  });

  it('hashes only the first non-empty hash tag', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('tkv:u:{Ab3x}')).toBe(keySlot('tkv:s:{Ab3x}qqqq'));
    // An empty first tag means the whole key is hashed, not the later {bar}.
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('{}foo')).not.toBe(keySlot('foo'));
    expect(keySlot('{foo}')).toBe(12182);
  });
});
