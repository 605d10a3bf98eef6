import { describe, expect, it } from '@jest/globals';
import { TidyKvKeys } from './key-layout.js';

const keys = new TidyKvKeys('tkv:');
const ID = 'AbC_defghijklmnopqrstuvwxy';

describe('TidyKvKeys', () => {
  it('builds the session hash with the id tag as hash tag, and parses it back', () => {
    const key = keys.session(ID);
    expect(key).toBe('tkv:s:{AbC_}defghijklmnopqrstuvwxy');
    expect(keys.sessionIdOf(key)).toBe(ID);
    expect(keys.parse(key)).toEqual({ kind: 'session', id: ID });
  });

  it('keeps a principal index in the slot of its sessions', () => {
    expect(keys.principalIndex('AbC_')).toBe('tkv:u:{AbC_}');
    expect(keys.parse('tkv:u:{AbC_}')).toEqual({ kind: 'principal-index', tag: 'AbC_' });
    expect(keys.parsePrincipalMember(keys.principalMember(ID, '"ada:x"'))).toEqual({ id: ID, rawPrincipal: '"ada:x"' });
    expect(keys.targetOfIndexMember('tkv:u:{AbC_}', `${ID}:"ada"`)).toBe(keys.session(ID));
    // A member whose id carries another tag cannot belong to this index.
    expect(keys.targetOfIndexMember('tkv:u:{zzzz}', `${ID}:"ada"`)).toBeUndefined();
  });

  it('builds entity and entity-index keys with encoded parts, and parses them back', () => {
    expect(keys.entity('refresh-token', 'a b{c}')).toBe('tkv:refresh-token:{a%20b%7Bc%7D}');
    expect(keys.parse('tkv:refresh-token:{a%20b%7Bc%7D}')).toEqual({ kind: 'entity', keyspace: 'refresh-token', id: 'a b{c}' });
    const idx = keys.entityIndex('refresh-token', 'userId', 'ada');
    expect(idx).toBe('tkv:refresh-token:idx:userId:{ada}');
    expect(keys.parse(idx)).toEqual({ kind: 'entity-index', keyspace: 'refresh-token', property: 'userId', part: 'ada' });
    expect(keys.targetOfIndexMember(idx, 'a b')).toBe('tkv:refresh-token:{a%20b}');
  });

  it('recognises session operation tokens and nothing that is not a tidykv key', () => {
    expect(keys.parse(keys.sessionOperation(ID, 'tok'))).toEqual({ kind: 'session-operation', id: ID, token: 'tok' });
    for (const other of ['other:s:{AbC_}x', 'tkv:s:{AbC_}short', 'tkv:', 'tkv:x', 'tkv:a:b:{c}', 'tkv:k:{a{b}']) expect(keys.parse(other)).toBeUndefined();
  });

  // Redis SCAN MATCH semantics for the characters the layout uses: `*`, `?` and `\` escapes.
  const matches = (glob: string, key: string): boolean =>
    new RegExp(`^${glob.replace(/\\(.)|([*?])|([^\\*?])/g, (_, esc: string, wild: string, lit: string) => (wild === '*' ? '.*' : wild === '?' ? '.' : (esc ?? lit).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))}$`, 's').test(key);

  it('gives SCAN globs that match its own keys', () => {
    expect(matches(keys.sessionGlob, keys.session(ID))).toBe(true);
    expect(matches(keys.principalIndexGlob, keys.principalIndex('AbC_'))).toBe(true);
    expect(matches(keys.entityGlob('tok'), keys.entity('tok', 'a*b'))).toBe(true);
    expect(matches(keys.entityIndexGlob, keys.entityIndex('tok', 'userId', 'ada'))).toBe(true);
    expect(matches(keys.sessionGlob, 'tkv:u:{AbC_}')).toBe(false);
  });

  it('puts the prefix into globs as it is (a validated prefix holds no glob characters)', () => {
    expect(new TidyKvKeys('app.v1:').sessionGlob).toBe('app.v1:s:{????}*');
  });
});
