import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { SESSION_ID_LENGTH, SESSION_TAG_LENGTH, isSessionIdShape } from '@tidykv/core';

/** Length of the hash tag at the start of every id (base64url characters); the key layout's. */
export const TAG_LENGTH = SESSION_TAG_LENGTH;
/** Total id length: tag + 128-bit random part. */
export const ID_LENGTH = SESSION_ID_LENGTH;
/** Bytes of HMAC-SHA256 kept in a signed id: 128 bits is far beyond guessing range. */
const SIG_LENGTH = 22;

/** A random hash tag for a session that has no principal yet. */
export function randomTag(): string {
  return randomBytes(3).toString('base64url');
}

/**
 * The hash tag of every session of one principal, derived from its stored (encoded) value, so that
 * a principal's sessions and its index share a cluster slot and one script can update both.
 */
export function principalTag(rawPrincipal: string): string {
  return createHash('sha256').update(rawPrincipal).digest('base64url').slice(0, TAG_LENGTH);
}

/** A new session id: `<tag><128 random bits>`. */
export function newSessionId(tag: string): string {
  return tag + randomBytes(16).toString('base64url');
}

/** The hash tag an id carries. */
export function tagOf(id: string): string {
  return id.slice(0, TAG_LENGTH);
}

/** True for a well-formed id (says nothing about whether it exists). */
export const isSessionId = isSessionIdShape;

function mac(secret: string, id: string): string {
  return createHmac('sha256', secret).update(id).digest('base64url').slice(0, SIG_LENGTH);
}

/** `<id>.<hmac>` with the first (current) secret. */
export function signSessionId(id: string, secrets: readonly string[]): string {
  return `${id}.${mac(secrets[0], id)}`;
}

/**
 * The id inside a signed value, or undefined when it is malformed or signed by none of `secrets`.
 * Every secret is tried so that rotating secrets does not log anyone out. Costs no Redis call.
 */
export function unsignSessionId(signed: unknown, secrets: readonly string[]): string | undefined {
  const known = typeof signed === 'string' ? verified.get(signed) : undefined;
  if (known !== undefined && known.secrets === secrets) return known.id;
  const id = verify(signed, secrets);
  if (id !== undefined) verified.set(signed as string, { id, secrets });
  return id;
}

// Verified signatures, so that a client's every request does not recompute its HMAC. Keyed by the
// full signed value and tied to the secrets array it was checked against; failures are never cached.
const verified = new LRUCache<string, { id: string; secrets: readonly string[] }>({ max: 10_000 });

function verify(signed: unknown, secrets: readonly string[]): string | undefined {
  if (typeof signed !== 'string' || signed.length !== ID_LENGTH + 1 + SIG_LENGTH || signed[ID_LENGTH] !== '.') return undefined;
  const id = signed.slice(0, ID_LENGTH);
  if (!isSessionId(id)) return undefined;
  const given = Buffer.from(signed.slice(ID_LENGTH + 1));
  for (const secret of secrets) {
    const expected = Buffer.from(mac(secret, id));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return id;
  }
  return undefined;
}
