import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import type { HttpSession } from '@tidykv/session';
import { parseUserId } from '../user-id.js';

/** The logged-in user of `session`, or 401. */
export function requireUser(session: HttpSession): string {
  const userId = session.get<string>('userId');
  if (typeof userId !== 'string') throw new UnauthorizedException('Log in first: POST /auth/login {"userId": "..."}.');
  return userId;
}

/**
 * The logged-in user, checked against an optional `userId` the client named (query or body):
 * 401 without a session, 400 when it breaks the userId rule, 403 when it names someone else.
 */
export function requireSelf(session: HttpSession, named: unknown): string {
  const userId = requireUser(session);
  if (named !== undefined && parseUserId(named) !== userId) {
    throw new ForbiddenException(`You are logged in as "${userId}"; tokens of other users are not yours to see or change.`);
  }
  return userId;
}
