import { describe, expect, it } from '@jest/globals';
import { classifySpringData, keyspaceOf, keyspaceOfHelperKey } from './spring-data.layout.js';

const ctx = { keyspaces: new Set(['persons', 'com.example.Person']), detect: true };

describe('classifySpringData', () => {
  it('walks a known keyspace set, pointing each id at its hash', () => {
    const c = classifySpringData({ key: 'persons', type: 'set', pttl: -1 }, ctx);
    if (!c || !('container' in c)) throw new Error('expected a container');
    expect(c.container).toMatchObject({ kind: 'spring-data-keyspace', key: 'persons', scoreIsExpiry: false });
    expect(c.container.target?.('42')).toBe('persons:42');
  });

  it('walks @Indexed sets of a known keyspace, pointing at the keyspace hashes', () => {
    const c = classifySpringData({ key: 'persons:lastname:smith', type: 'set', pttl: -1 }, ctx);
    if (!c || !('container' in c)) throw new Error('expected a container');
    expect(c.container.kind).toBe('spring-data-index');
    expect(c.container.target?.('42')).toBe('persons:42');
  });

  it('checks :idx sets and TTL-less :phantom hashes against their entity', () => {
    expect(classifySpringData({ key: 'persons:42:idx', type: 'set', pttl: -1 }, ctx)).toEqual({
      orphanKey: { kind: 'spring-data-idx', key: 'persons:42:idx', type: 'set', pttl: -1, dependsOn: 'persons:42', requireNoTtl: false, memberPrefix: 'persons:' },
    });
    expect(classifySpringData({ key: 'persons:42:phantom', type: 'hash', pttl: -1 }, ctx)).toMatchObject({
      orphanKey: { kind: 'spring-data-phantom', dependsOn: 'persons:42', requireNoTtl: true },
    });
  });

  it('takes the longest known keyspace a key belongs to', () => {
    expect(keyspaceOf('com.example.Person:7:idx', ctx.keyspaces)).toBe('com.example.Person');
    expect(keyspaceOf('personsX:1', ctx.keyspaces)).toBeUndefined();
    expect(keyspaceOf('a:b:c', ['a', 'a:b'])).toBe('a:b');
  });

  it('makes literally named sets of unknown purpose candidates, and sets named by id not', () => {
    expect(classifySpringData({ key: 'refresh', type: 'set', pttl: -1 }, ctx)).toEqual({ candidateKeyspace: { key: 'refresh', type: 'set', pttl: -1 } });
    expect(classifySpringData({ key: 'item-tags:42', type: 'set', pttl: -1 }, ctx)).toBeUndefined();
    expect(classifySpringData({ key: 'refresh', type: 'set', pttl: -1 }, { ...ctx, detect: false })).toBeUndefined();
    expect(classifySpringData({ key: 'refresh', type: 'hash', pttl: -1 }, ctx)).toBeUndefined();
    expect(classifySpringData({ key: 'persons:42', type: 'hash', pttl: -1 }, ctx)).toBeUndefined();
  });
});

describe('keyspaceOfHelperKey', () => {
  it('names the keyspace of :idx and :phantom keys only', () => {
    expect(keyspaceOfHelperKey('persons:42:idx')).toBe('persons');
    expect(keyspaceOfHelperKey('com.example.Person:7:phantom')).toBe('com.example.Person');
    expect(keyspaceOfHelperKey('persons:42')).toBeUndefined();
    expect(keyspaceOfHelperKey('idx')).toBeUndefined();
  });
});
