import { describe, expect, it } from '@jest/globals';
import { slotOf } from './slot.js';

describe('slotOf', () => {
  it('matches CLUSTER KEYSLOT', () => {
    // Values from `redis-cli CLUSTER KEYSLOT <key>` on a cluster node.
    expect(slotOf('foo')).toBe(12182);
    expect(slotOf('bar')).toBe(5061);
    expect(slotOf('hello')).toBe(866);
  });

  it('hashes only the first non-empty hash tag', () => {
    expect(slotOf('{user1000}.following')).toBe(slotOf('{user1000}.followers'));
    expect(slotOf('tkv:u:{Ab3x}')).toBe(slotOf('tkv:s:{Ab3x}qqqq'));
    // An empty first tag means the whole key is hashed, not the later {bar}.
    expect(slotOf('foo{}{bar}')).not.toBe(slotOf('bar'));
    expect(slotOf('{}foo')).not.toBe(slotOf('foo'));
    expect(slotOf('{foo}')).toBe(12182);
  });
});
