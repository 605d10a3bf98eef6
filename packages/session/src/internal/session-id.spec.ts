import { describe, expect, it } from '@jest/globals';
import { ID_LENGTH, isSessionId, newSessionId, principalTag, randomTag, signSessionId, tagOf, unsignSessionId } from './session-id.js';

const S1 = 'first-secret-first-secret-first-secret!!';
const S2 = 'second-secret-second-secret-second-secret';

describe('session ids', () => {
  it('carry 128 random bits after a 4-character hash tag, base64url', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newSessionId(randomTag())));
    expect(ids.size).toBe(2000);
    for (const id of ids) {
      expect(id).toHaveLength(ID_LENGTH);
      expect(isSessionId(id)).toBe(true);
      // 22 base64url characters = 132 bits of room for the 128 random bits.
      expect(Buffer.from(id.slice(4), 'base64url')).toHaveLength(16);
    }
  });

  it('keep their tag when regenerated with the same tag, and a principal always maps to one tag', () => {
    const id = newSessionId('abcd');
    expect(tagOf(newSessionId(tagOf(id)))).toBe('abcd');
    expect(principalTag('"alice"')).toBe(principalTag('"alice"'));
    expect(principalTag('"alice"')).not.toBe(principalTag('"bob"'));
  });

  it('round-trip through signing, with any of the secrets', () => {
    const id = newSessionId(randomTag());
    expect(unsignSessionId(signSessionId(id, [S1]), [S1])).toBe(id);
    expect(unsignSessionId(signSessionId(id, [S2]), [S1, S2])).toBe(id);
    expect(unsignSessionId(signSessionId(id, [S2]), [S1])).toBeUndefined();
  });

  it('reject malformed, unsigned and tampered values', () => {
    const id = newSessionId(randomTag());
    const signed = signSessionId(id, [S1]);
    const flipped = (signed[3] === 'A' ? 'B' : 'A');
    for (const bad of [undefined, 42, '', id, `${id}.`, `${signed}x`, signed.slice(0, 3) + flipped + signed.slice(4), signed.replace('.', ':'), `${'!'.repeat(26)}.${signed.slice(27)}`]) {
      expect(unsignSessionId(bad, [S1])).toBeUndefined();
    }
  });
});
