import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Post, Query, ServiceUnavailableException } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { RedisUnavailableError } from '@tidykv/core';
import { EntityRepository, InjectRepository } from '@tidykv/repository';
import { RefreshToken } from './refresh-token.entity.js';

/** What `GET /tokens` lists per token. */
export interface TokenView {
  token: string;
  issuedAt: string;
}

const USER_ID = /^[\w.@-]{1,128}$/;

function userIdOf(value: unknown): string {
  if (typeof value !== 'string' || !USER_ID.test(value)) {
    throw new BadRequestException('userId must be 1-128 characters from letters, digits, "_", ".", "@" and "-".');
  }
  return value;
}

// The library never throws HTTP errors; this app maps "Redis is down" to 503.
async function orUnavailable<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof RedisUnavailableError) throw new ServiceUnavailableException('The token store is unavailable; retry shortly.');
    throw err;
  }
}

/** Issue, list and revoke refresh tokens. */
@Controller('tokens')
export class TokensController {
  constructor(@InjectRepository(RefreshToken) private readonly tokens: EntityRepository<RefreshToken>) {}

  /** `POST /tokens {"userId"}` issues a token: 201 `{ token }`. */
  @Post()
  async issue(@Body() body: { userId?: unknown } | undefined): Promise<{ token: string }> {
    const userId = userIdOf(body?.userId);
    const token = Object.assign(new RefreshToken(), { id: randomBytes(32).toString('base64url'), userId, issuedAt: new Date() });
    await orUnavailable(this.tokens.save(token));
    return { token: token.id };
  }

  /** `GET /tokens?userId=` lists the user's live tokens, soonest to expire first. */
  @Get()
  async list(@Query('userId') userId: unknown): Promise<TokenView[]> {
    const found = await orUnavailable(this.tokens.findBy('userId', userIdOf(userId)));
    return found.map((t) => ({ token: t.id, issuedAt: t.issuedAt.toISOString() }));
  }

  /** `DELETE /tokens?userId=` revokes every token of the user: 204. */
  @Delete()
  @HttpCode(204)
  async revokeAll(@Query('userId') userId: unknown): Promise<void> {
    await orUnavailable(this.tokens.deleteBy('userId', userIdOf(userId)));
  }
}
