import { describe, expect, it } from '@jest/globals';
import * as core from '@tidykv/core';
import * as repository from './index.js';

describe('the @tidykv/repository barrel', () => {
  it.each(['RedisUnavailableError', 'TidyKvOutcomeUnknownError', 'TidyKvConfigError', 'TidyKvCodecError', 'TidyKvDecodeError', 'TidyKvKeyError', 'TidyKvError'] as const)(
    're-exports %s from @tidykv/core as the same class, so apps need no direct dependency on core to catch it',
    (name) => {
      expect(repository[name]).toBe(core[name]);
    },
  );

  it.each([
    ['RepositoryError', 'TidyKvRepositoryError'],
    ['EntityMetadataError', 'TidyKvEntityMetadataError'],
    ['EntityValueError', 'TidyKvEntityValueError'],
    ['EntityConflictError', 'TidyKvEntityConflictError'],
  ] as const)('keeps the old name %s as the same class as %s', (old, renamed) => {
    expect(repository[old]).toBe(repository[renamed]);
  });

  it('names errors TidyKv* and keeps their codes', () => {
    const err = new repository.EntityValueError('Token', 'userId', 'bad');
    expect(err).toBeInstanceOf(repository.TidyKvEntityValueError);
    expect(err).toBeInstanceOf(repository.TidyKvRepositoryError);
    expect(err).toBeInstanceOf(core.TidyKvError);
    expect(err.name).toBe('TidyKvEntityValueError');
    expect(err.code).toBe('TIDYKV_ENTITY_VALUE');
  });
});
