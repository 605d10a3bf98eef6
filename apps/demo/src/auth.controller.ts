import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { Session, type HttpSession } from '@tidykv/session';

/** Login and logout on top of @tidykv/session. */
@Controller('auth')
export class AuthController {
  /** Regenerates the session id (against fixation) and stores the user id. */
  @Post('login')
  @HttpCode(201)
  login(@Session() session: HttpSession, @Body() body: { userId?: unknown }): { userId: string } {
    const userId = body?.userId;
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) {
      throw new BadRequestException('Send JSON {"userId": "<non-empty string of at most 256 characters>"}.');
    }
    session.regenerate();
    session.set('userId', userId);
    return { userId };
  }

  /** Deletes the session and clears the cookie. */
  @Post('logout')
  @HttpCode(204)
  async logout(@Session() session: HttpSession): Promise<void> {
    await session.invalidate();
  }
}
