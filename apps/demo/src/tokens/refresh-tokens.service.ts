import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { EntityRepository, InjectRepository } from '@tidykv/repository';
import { RefreshFamily } from './refresh-family.entity.js';
import { RefreshToken, rotatedTokenId } from './refresh-token.entity.js';

/** Injection token of the refresh-token TTL in seconds (REFRESH_TTL_SECONDS). */
export const REFRESH_TTL_SECONDS = Symbol('demo:refresh-ttl-seconds');

/** A token just issued: the secret goes to the client once and is never stored. */
export interface IssuedToken {
  readonly secret: string;
  readonly familyId: string;
  readonly expiresAt: Date;
}

/**
 * Why a refresh was refused (every case answers 401):
 * - `unknown`: no such token (never issued, expired, or revoked);
 * - `reused`: the token had already been rotated; its whole family is now revoked;
 * - `revoked`: the family was revoked while this rotation ran.
 */
export type RefreshRefusal = 'unknown' | 'reused' | 'revoked';

/** What `GET /tokens` shows of a live token: never its secret, nor its hash. */
export interface TokenView {
  familyId: string;
  issuedAt: string;
  expiresAt: string;
}

// 256 bits from the CSPRNG; base64url without padding is 43 characters.
const SECRET_BYTES = 32;
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The hash a token is stored under. A plain SHA-256 suffices: the secret has 256 random bits, so there is nothing to brute-force. */
function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/**
 * Refresh tokens with rotation and reuse detection, on @tidykv/repository. Every key has a TTL;
 * revocation deletes keys rather than marking them, so nothing is left behind.
 */
@Injectable()
export class RefreshTokensService {
  constructor(
    @InjectRepository(RefreshToken) private readonly tokens: EntityRepository<RefreshToken>,
    @InjectRepository(RefreshFamily) private readonly families: EntityRepository<RefreshFamily>,
    @Inject(REFRESH_TTL_SECONDS) private readonly ttlSeconds: number,
  ) {}

  /** Starts a new family (a login, or `POST /tokens`) with its first token. */
  async issue(userId: string): Promise<IssuedToken> {
    const family = Object.assign(new RefreshFamily(), { id: randomBytes(16).toString('base64url'), userId, createdAt: new Date(), ttlSeconds: this.ttlSeconds });
    await this.families.save(family);
    return this.issueIn(family.id, userId);
  }

  private async issueIn(familyId: string, userId: string): Promise<IssuedToken> {
    const secret = randomBytes(SECRET_BYTES).toString('base64url');
    const issuedAt = new Date();
    const expiresAt = new Date(issuedAt.getTime() + this.ttlSeconds * 1000);
    await this.tokens.save(Object.assign(new RefreshToken(), { id: hashOf(secret), userId, familyId, issuedAt, expiresAt, rotatedAt: null, ttlSeconds: this.ttlSeconds }));
    return { secret, familyId, expiresAt };
  }

  /**
   * Rotates `secret`: it stops working and a new token of the same family is returned. The claim
   * on the old token is its deletion, which exactly one caller wins; the tombstone is written
   * before it, so a second presentation, concurrent or later, is seen as reuse and revokes the
   * family. Refusals say why (see {@link RefreshRefusal}).
   */
  async rotate(secret: string): Promise<IssuedToken | RefreshRefusal> {
    if (!SECRET_SHAPE.test(secret)) return 'unknown';
    const hash = hashOf(secret);
    const live = await this.tokens.findById(hash);
    if (!live) {
      const used = await this.tokens.findById(rotatedTokenId(hash));
      if (!used) return 'unknown';
      await this.revokeFamily(used.familyId);
      return 'reused';
    }
    const left = Math.ceil((live.expiresAt.getTime() - Date.now()) / 1000);
    if (left <= 0) return 'unknown';
    await this.tokens.save(Object.assign(new RefreshToken(), { ...live, id: rotatedTokenId(hash), rotatedAt: new Date(), ttlSeconds: left }));
    if (!(await this.tokens.deleteById(hash))) {
      // Another request presented the same token at the same time and won the claim: reuse.
      await this.revokeFamily(live.familyId);
      return 'reused';
    }
    // Re-arm the family so it outlives the new token; gone means it was revoked meanwhile.
    if (!(await this.families.expire(live.familyId, this.ttlSeconds))) {
      await this.tokens.deleteById(rotatedTokenId(hash));
      return 'revoked';
    }
    const next = await this.issueIn(live.familyId, live.userId);
    // A revocation deletes the family before its tokens: if the family is still there now, that
    // revocation (if any) has yet to list the tokens and will find this one.
    if (!(await this.families.exists(live.familyId))) {
      await this.tokens.deleteById(hashOf(next.secret));
      return 'revoked';
    }
    return next;
  }

  /** Revokes every token of a family (live ones and tombstones). */
  async revokeFamily(familyId: string): Promise<void> {
    await this.families.deleteById(familyId);
    await this.tokens.deleteBy('familyId', familyId);
  }

  /** Revokes every token of `userId` ("log out everywhere", `DELETE /tokens`): live ones and tombstones. */
  async revokeUser(userId: string): Promise<void> {
    // Families first: a rotation in flight then fails its family check and deletes what it wrote.
    await this.families.deleteBy('userId', userId);
    await this.tokens.deleteBy('userId', userId);
  }

  /** The live (not rotated) tokens of `userId`, soonest to expire first, without secrets. */
  async list(userId: string): Promise<TokenView[]> {
    const found = await this.tokens.findBy('userId', userId);
    return found
      .filter((t) => t.rotatedAt === null)
      .map((t) => ({ familyId: t.familyId, issuedAt: t.issuedAt.toISOString(), expiresAt: t.expiresAt.toISOString() }));
  }
}
