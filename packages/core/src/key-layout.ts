import { decodeKeyPart, encodeKeyPart, escapeGlob, validateKeyPrefix } from './key-builder.js';

/** Characters of the hash tag every session id starts with (base64url). */
export const SESSION_TAG_LENGTH = 4;
/** Characters of the secret part of a session id: 128 CSPRNG bits as base64url. */
export const SESSION_SECRET_LENGTH = 22;
/** Total length of a session id: tag + secret. */
export const SESSION_ID_LENGTH = SESSION_TAG_LENGTH + SESSION_SECRET_LENGTH;

const SESSION_ID = /^[A-Za-z0-9_-]{26}$/;
const TAG = /^[A-Za-z0-9_-]{4}$/;
/** Characters of the digest naming a legacy key in its migration marker (base64url, 132 bits). */
const LEGACY_DIGEST_LENGTH = 22;
const DIGEST = /^[A-Za-z0-9_-]{22}$/;
// Key parts produced by encodeKeyPart: never a brace, a colon or a glob character.
const PART = /^[A-Za-z0-9_.~%-]+$/;
const KEYSPACE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Entity keyspaces no repository may use, because @tidykv/session's families live there under the
 * same prefix: `s` (session hashes, `<prefix>s:{<tag>}<secret>`) and `u` (principal indexes,
 * `<prefix>u:{<tag>}`). An entity of keyspace `u` whose id has 4 characters would have exactly a
 * principal index's key.
 */
export const RESERVED_KEYSPACES: readonly string[] = Object.freeze(['s', 'u']);

/** True for a well-formed session id (it says nothing about whether the session exists). */
export function isSessionIdShape(id: unknown): id is string {
  return typeof id === 'string' && SESSION_ID.test(id);
}

/** What {@link TidyKvKeys.parse} recognises a key as. */
export type ParsedTidyKvKey =
  | { readonly kind: 'session'; readonly id: string }
  | { readonly kind: 'session-operation'; readonly id: string; readonly token: string }
  | { readonly kind: 'principal-index'; readonly tag: string }
  | { readonly kind: 'legacy-marker'; readonly tag: string; readonly digest: string }
  | { readonly kind: 'entity'; readonly keyspace: string; readonly id: string }
  | { readonly kind: 'entity-index'; readonly keyspace: string; readonly property: string; readonly part: string };

/**
 * The one description of every key tidykv writes under one prefix: it builds them, parses them
 * back and gives the SCAN MATCH glob of each family. @tidykv/session, @tidykv/repository and the
 * auditor all use it, so a change of layout is a change here and nowhere else.
 *
 * | family | key | type |
 * |---|---|---|
 * | session | `<prefix>s:{<tag>}<secret>` (id = tag + secret) | hash |
 * | principal index | `<prefix>u:{<tag>}`, members `<session id>:<encoded principal>` | zset scored by expiry ms |
 * | legacy migration marker | `<prefix>l:{<tag>}<digest>` (tag in the legacy key's slot) | string: the new session id, with a TTL |
 * | entity | `<prefix><keyspace>:{<encoded id>}` | hash |
 * | entity index | `<prefix><keyspace>:idx:<encoded property>:{<value part>}`, members entity ids | zset scored by expiry ms |
 *
 * The part in braces is the cluster hash tag: a session shares its slot with its principal's
 * index (the id's tag is derived from the principal), an entity's hash is alone in its slot.
 */
export class TidyKvKeys {
  private readonly sessionBase: string;
  private readonly indexBase: string;
  private readonly legacyBase: string;

  /** @param prefix - validated with `validateKeyPrefix`; `option` names it in errors. */
  constructor(
    readonly prefix: string,
    option = 'keyPrefix',
  ) {
    validateKeyPrefix(prefix, option);
    this.sessionBase = `${prefix}s:{`;
    this.indexBase = `${prefix}u:{`;
    this.legacyBase = `${prefix}l:{`;
  }

  // ------------------------------------------------------------------ sessions

  /** Key of the session hash of `id` (a well-formed session id, see {@link isSessionIdShape}). */
  session(id: string): string {
    return `${this.sessionBase}${id.slice(0, SESSION_TAG_LENGTH)}}${id.slice(SESSION_TAG_LENGTH)}`;
  }

  /** The session id inside a session key, or undefined for any other key. */
  sessionIdOf(key: string): string | undefined {
    if (!key.startsWith(this.sessionBase)) return undefined;
    const at = this.sessionBase.length;
    if (key.length !== at + SESSION_ID_LENGTH + 1 || key[at + SESSION_TAG_LENGTH] !== '}') return undefined;
    const id = key.slice(at, at + SESSION_TAG_LENGTH) + key.slice(at + SESSION_TAG_LENGTH + 1);
    return SESSION_ID.test(id) ? id : undefined;
  }

  /**
   * Key remembering that operation `token` on session `id` was applied (same slot as the
   * session, short TTL): what makes a non-idempotent session write safe to re-send.
   */
  sessionOperation(id: string, token: string): string {
    return `${this.session(id)}:op:${token}`;
  }

  /** Key of the principal index of every session whose id carries `tag`. */
  principalIndex(tag: string): string {
    return `${this.indexBase}${tag}}`;
  }

  /** Member of a principal index for session `id` of the principal stored as `rawPrincipal`. */
  principalMember(id: string, rawPrincipal: string): string {
    return `${id}:${rawPrincipal}`;
  }

  /** The session id and the stored principal inside an index member, or undefined when malformed. */
  parsePrincipalMember(member: string): { id: string; rawPrincipal: string } | undefined {
    const id = member.slice(0, SESSION_ID_LENGTH);
    if (member[SESSION_ID_LENGTH] !== ':' || !SESSION_ID.test(id)) return undefined;
    return { id, rawPrincipal: member.slice(SESSION_ID_LENGTH + 1) };
  }

  /** SCAN MATCH glob of every session hash under this prefix (check hits with {@link sessionIdOf}). */
  get sessionGlob(): string {
    return `${escapeGlob(this.sessionBase)}????}*`;
  }

  /** SCAN MATCH glob of every principal index under this prefix. */
  get principalIndexGlob(): string {
    return `${escapeGlob(this.indexBase)}????}`;
  }

  // ------------------------------------------------------------------ legacy migration

  /**
   * Key of the marker a migration from express-session + connect-redis leaves behind: it holds
   * the id of the session the legacy session became and lives as long as the legacy key would
   * have. `tag` puts it in the legacy key's cluster slot; `digest` (22 base64url characters) names
   * the legacy key.
   */
  legacyMarker(tag: string, digest: string): string {
    return `${this.legacyBase}${tag}}${digest}`;
  }

  /** SCAN MATCH glob of every legacy migration marker under this prefix. */
  get legacyMarkerGlob(): string {
    return `${escapeGlob(this.legacyBase)}????\\}*`;
  }

  // ------------------------------------------------------------------ entities

  /** Key of the hash of entity `id` of `keyspace`. Throws `TidyKvKeyError` for an unusable id. */
  entity(keyspace: string, id: string): string {
    return `${this.prefix}${keyspace}:{${encodeKeyPart(id)}}`;
  }

  /** Key of the index of `keyspace`.`property` for the value whose key part is `part`. */
  entityIndex(keyspace: string, property: string, part: string): string {
    return `${this.prefix}${keyspace}:idx:${encodeKeyPart(property)}:{${part}}`;
  }

  /** The id inside an entity key of `keyspace`, or undefined for any other key. */
  entityIdOf(keyspace: string, key: string): string | undefined {
    const base = `${this.prefix}${keyspace}:{`;
    if (!key.startsWith(base) || !key.endsWith('}')) return undefined;
    const part = key.slice(base.length, -1);
    if (!PART.test(part)) return undefined;
    try {
      return decodeKeyPart(part);
    } catch {
      return undefined;
    }
  }

  /** SCAN MATCH glob of every entity hash of `keyspace` (check hits with {@link entityIdOf}). */
  entityGlob(keyspace: string): string {
    return `${escapeGlob(`${this.prefix}${keyspace}:{`)}*}`;
  }

  /** SCAN MATCH glob of every entity index under this prefix (any keyspace, any property). */
  get entityIndexGlob(): string {
    return `${escapeGlob(this.prefix)}*:idx:*:{*}`;
  }

  // ------------------------------------------------------------------ any key

  /** Recognises any key of the four families, or undefined for a key tidykv did not write. */
  parse(key: string): ParsedTidyKvKey | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    const id = this.sessionIdOf(key);
    if (id !== undefined) return { kind: 'session', id };
    const op = key.lastIndexOf(':op:');
    if (op !== -1) {
      const opId = this.sessionIdOf(key.slice(0, op));
      const token = key.slice(op + ':op:'.length);
      if (opId !== undefined && /^[A-Za-z0-9_-]{1,64}$/.test(token)) return { kind: 'session-operation', id: opId, token };
    }
    if (key.startsWith(this.legacyBase) && key.length === this.legacyBase.length + SESSION_TAG_LENGTH + 1 + LEGACY_DIGEST_LENGTH) {
      const tag = key.slice(this.legacyBase.length, this.legacyBase.length + SESSION_TAG_LENGTH);
      const digest = key.slice(this.legacyBase.length + SESSION_TAG_LENGTH + 1);
      if (key[this.legacyBase.length + SESSION_TAG_LENGTH] === '}' && TAG.test(tag) && DIGEST.test(digest)) return { kind: 'legacy-marker', tag, digest };
    }
    if (key.startsWith(this.indexBase) && key.length === this.indexBase.length + SESSION_TAG_LENGTH + 1 && key.endsWith('}')) {
      const tag = key.slice(this.indexBase.length, -1);
      if (TAG.test(tag)) return { kind: 'principal-index', tag };
    }
    const rest = key.slice(this.prefix.length);
    const brace = rest.indexOf('{');
    if (brace < 1 || !rest.endsWith('}') || rest[brace - 1] !== ':') return undefined;
    const head = rest.slice(0, brace - 1);
    const part = rest.slice(brace + 1, -1);
    if (!PART.test(part)) return undefined;
    const idx = head.indexOf(':idx:');
    if (idx === -1) {
      if (!KEYSPACE.test(head)) return undefined;
      const entityId = this.entityIdOf(head, key);
      return entityId === undefined ? undefined : { kind: 'entity', keyspace: head, id: entityId };
    }
    const keyspace = head.slice(0, idx);
    const property = head.slice(idx + ':idx:'.length);
    if (!KEYSPACE.test(keyspace) || !PART.test(property)) return undefined;
    try {
      return { kind: 'entity-index', keyspace, property: decodeKeyPart(property), part };
    } catch {
      return undefined;
    }
  }

  /**
   * The key an index member points at: the session hash for a principal-index member, the entity
   * hash for an entity-index member. Undefined when `indexKey` is not an index or the member is malformed.
   */
  targetOfIndexMember(indexKey: string, member: string): string | undefined {
    const parsed = this.parse(indexKey);
    if (parsed?.kind === 'principal-index') {
      const m = this.parsePrincipalMember(member);
      return m && m.id.startsWith(parsed.tag) ? this.session(m.id) : undefined;
    }
    if (parsed?.kind === 'entity-index') {
      try {
        return this.entity(parsed.keyspace, member);
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}
