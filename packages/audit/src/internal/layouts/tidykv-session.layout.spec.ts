import { describe, expect, it } from '@jest/globals';
import { TidyKvKeys } from '@tidykv/core';
import { IndexRuleLayout } from './index-rule.layout.js';
import { TIDYKV_SESSION_RULE, tidykvSessionRule } from './tidykv-session.layout.js';

// Keys are built with core's TidyKvKeys, the layout @tidykv/session writes with.
const keys = new TidyKvKeys('app:');
const layout = new IndexRuleLayout([tidykvSessionRule(keys)]);
const id = 'Ab3xQ1w2e3r4t5y6u7i8o9p0aZ';

function targetOf(indexKey: string, member: string): string | undefined {
  const c = layout.classify({ key: indexKey, type: 'zset', pttl: 60_000 });
  if (!c || !('container' in c)) throw new Error(`${indexKey} is not recognised`);
  expect(c.container).toMatchObject({ kind: 'index', rule: TIDYKV_SESSION_RULE, scoreIsExpiry: true });
  return c.container.target?.(member);
}

describe('tidykv session principal index', () => {
  it('points a member at the session hash of its id', () => {
    const index = keys.principalIndex(id.slice(0, 4));
    expect(targetOf(index, keys.principalMember(id, '"alice"'))).toBe(keys.session(id));
  });

  it('leaves alone members no session of this index can have: malformed, or of another tag', () => {
    const index = keys.principalIndex(id.slice(0, 4));
    expect(targetOf(index, 'not-a-session-id:"alice"')).toBeUndefined();
    expect(targetOf(index, keys.principalMember(`Zzzz${id.slice(4)}`, '"alice"'))).toBeUndefined();
  });

  it('does not take session hashes, entity indexes or other prefixes for principal indexes', () => {
    expect(layout.classify({ key: keys.session(id), type: 'zset', pttl: 1 })).toBeUndefined();
    expect(layout.classify({ key: keys.entityIndex('users', 'email', 'x'), type: 'zset', pttl: 1 })).toBeUndefined();
    expect(layout.classify({ key: new TidyKvKeys('other:').principalIndex('Ab3x'), type: 'zset', pttl: 1 })).toBeUndefined();
  });
});
