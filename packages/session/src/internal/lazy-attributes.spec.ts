import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { LazyAttributeBuffer } from './lazy-attributes.js';
import type { SessionDelta, StoredSession } from './session-repository.js';

const session: StoredSession = { id: 'id1', attributes: new Map([['page', '"/a"']]), createdAt: 1, lastAccessedAt: 1, idleTimeoutMs: undefined };
const d = (sets: Record<string, string>, dels: string[] = []): SessionDelta => ({ sets: new Map(Object.entries(sets)), dels: new Set(dels), idle: 'keep' });

describe('LazyAttributeBuffer', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('buffers a write of lazy attributes alone and writes nothing', () => {
    const b = new LazyAttributeBuffer(new Set(['page']), 60_000);
    const now = b.split(session, d({ page: '"/b"' }));
    expect(now.sets.size + now.dels.size).toBe(0);
    expect(b.overlay(session).attributes.get('page')).toBe('"/b"');
  });

  it('flushes buffered lazy writes with the next regular write', () => {
    const b = new LazyAttributeBuffer(new Set(['page']), 60_000);
    b.split(session, d({ page: '"/b"' }));
    const now = b.split(session, d({ n: '1' }));
    expect([...now.sets]).toEqual([
      ['page', '"/b"'],
      ['n', '1'],
    ]);
    expect(b.due('id1')).toBe(false);
  });

  it('flushes on its own once the interval has passed', () => {
    const b = new LazyAttributeBuffer(new Set(['page']), 60_000);
    b.split(session, d({ page: '"/b"' }));
    jest.advanceTimersByTime(60_000);
    expect(b.due('id1')).toBe(true);
    expect([...b.split(session, d({})).sets]).toEqual([['page', '"/b"']]);
  });

  it('a later delete of a buffered attribute wins over its earlier set', () => {
    const b = new LazyAttributeBuffer(new Set(['page']), 60_000);
    b.split(session, d({ page: '"/b"' }));
    b.split(session, d({}, ['page']));
    expect(b.overlay(session).attributes.has('page')).toBe(false);
    const [[, flushed]] = b.drain();
    expect([...flushed.dels]).toEqual(['page']);
    expect(flushed.sets.size).toBe(0);
  });

  it('hands its buffer over when the session changes id', () => {
    const b = new LazyAttributeBuffer(new Set(['page']), 60_000);
    b.split(session, d({ page: '"/b"' }));
    expect(b.take('id1')?.sets.get('page')).toBe('"/b"');
    expect(b.take('id1')).toBeUndefined();
  });
});
