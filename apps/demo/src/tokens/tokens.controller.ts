import { Body, Controller, Delete, Get, HttpCode, Post, Query } from '@nestjs/common';
import { Session, type HttpSession } from '@tidykv/session';
import { requireSelf } from '../auth/current-user.js';
import { RefreshTokensService, type TokenView } from './refresh-tokens.service.js';

/** The logged-in user's own refresh tokens: issue, list (without secrets), revoke all. */
@Controller('tokens')
export class TokensController {
  constructor(private readonly tokens: RefreshTokensService) {}

  /** `POST /tokens` issues a token in a new family: 201 `{ token }`. */
  @Post()
  async issue(@Session() session: HttpSession, @Body() body: { userId?: unknown } | undefined): Promise<{ token: string }> {
    const userId = requireSelf(session, body?.userId);
    return { token: (await this.tokens.issue(userId)).secret };
  }

  /** `GET /tokens` lists the user's live tokens, soonest to expire first. */
  @Get()
  list(@Session() session: HttpSession, @Query('userId') userId: unknown): Promise<TokenView[]> {
    return this.tokens.list(requireSelf(session, userId));
  }

  /** `DELETE /tokens` revokes every token of the user: 204. */
  @Delete()
  @HttpCode(204)
  async revokeAll(@Session() session: HttpSession, @Query('userId') userId: unknown): Promise<void> {
    await this.tokens.revokeUser(requireSelf(session, userId));
  }
}
