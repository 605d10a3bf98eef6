import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { Session, SessionService, type HttpSession } from '@tidykv/session';
import { RefreshTokensService } from '../tokens/refresh-tokens.service.js';
import { parseUserId } from '../user-id.js';
import { requireUser } from './current-user.js';

/** One row of `GET /auth/sessions`. Session ids are never shown: they are bearer secrets. */
export interface SessionView {
  createdAt: string;
  lastAccessedAt: string;
  expiresAt: string;
  /** True for the session of the request that asked. */
  current: boolean;
}

const REFUSED = {
  unknown: 'Unknown or expired refresh token; log in again.',
  reused: 'This refresh token was already used: every token of its login has been revoked. Log in again.',
  revoked: 'This login was revoked; log in again.',
} as const;

/** Login, logout, refresh-token rotation and the user's sessions, on @tidykv/session and @tidykv/repository. */
@Controller('auth')
export class AuthController {
  constructor(
    private readonly sessions: SessionService,
    private readonly tokens: RefreshTokensService,
  ) {}

  /** Regenerates the session id (against fixation), stores the user id and issues a refresh token. */
  @Post('login')
  @HttpCode(201)
  async login(@Session() session: HttpSession, @Body() body: { userId?: unknown } | undefined): Promise<{ userId: string; refreshToken: string }> {
    const userId = parseUserId(body?.userId);
    const issued = await this.tokens.issue(userId);
    session.regenerate();
    session.set('userId', userId);
    return { userId, refreshToken: issued.secret };
  }

  /**
   * Rotates a refresh token. Needs no session (mobile clients keep only the token), so it never
   * loads one: a request without a cookie costs the session nothing.
   */
  @Post('refresh')
  @HttpCode(200)
  async refresh(@Body() body: { refreshToken?: unknown } | undefined): Promise<{ refreshToken: string }> {
    const token = body?.refreshToken;
    if (typeof token !== 'string' || token === '') throw new BadRequestException('Send JSON {"refreshToken": "<the token from /auth/login or /auth/refresh>"}.');
    const result = await this.tokens.rotate(token);
    if (typeof result === 'string') throw new UnauthorizedException(REFUSED[result]);
    return { refreshToken: result.secret };
  }

  /** The user's live sessions, from the principal index, newest first. */
  @Get('sessions')
  async list(@Session() session: HttpSession): Promise<SessionView[]> {
    const userId = requireUser(session);
    const live = await this.sessions.listByPrincipal(userId);
    return live
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((s) => ({
        createdAt: new Date(s.createdAt).toISOString(),
        lastAccessedAt: new Date(s.lastAccessedAt).toISOString(),
        expiresAt: new Date(s.expiresAt).toISOString(),
        current: s.id === session.id,
      }));
  }

  /** Logs the user out everywhere: every session and every refresh token. */
  @Delete('sessions')
  @HttpCode(204)
  async logoutEverywhere(@Session() session: HttpSession): Promise<void> {
    const userId = requireUser(session);
    await this.tokens.revokeUser(userId);
    await this.sessions.invalidateByPrincipal(userId);
    // This request's own session is among those; invalidating it here also clears its cookie.
    await session.invalidate();
  }

  /** Deletes this session and clears the cookie. */
  @Post('logout')
  @HttpCode(204)
  async logout(@Session() session: HttpSession): Promise<void> {
    await session.invalidate();
  }
}
