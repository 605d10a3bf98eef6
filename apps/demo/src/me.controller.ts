import { Controller, Get, HttpCode, Post } from '@nestjs/common';
import { Session, type HttpSession } from '@tidykv/session';
import { requireUser } from './auth/current-user.js';

/** The logged-in user's own data, read from the session. */
@Controller('me')
export class MeController {
  @Get()
  me(@Session() session: HttpSession): { userId: string } {
    return { userId: requireUser(session) };
  }

  /**
   * Counts visits with the session's atomic increment (one HINCRBY inside a script, only while the
   * session exists), so concurrent requests lose nothing. A logout racing it makes it reject with
   * TIDYKV_SESSION_GONE, which the exception filter answers with 401.
   */
  @Post('visits')
  @HttpCode(200)
  async visits(@Session() session: HttpSession): Promise<{ visits: number }> {
    requireUser(session);
    return { visits: await session.increment('visits') };
  }
}
