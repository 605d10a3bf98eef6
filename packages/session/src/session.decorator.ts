import { createParamDecorator, type ExecutionContext, type PipeTransform } from '@nestjs/common';
import type { HttpSession } from './http-session.model.js';
import { sessionOfRequest } from './internal/session-context.js';
import { TidyKvSessionError } from './session.errors.js';

const currentSession = createParamDecorator((_data: unknown, ctx: ExecutionContext): HttpSession | undefined =>
  sessionOfRequest(ctx.switchToHttp().getRequest()),
);

/** Loads the session (one Redis command at most, once per request) before the handler runs. */
class LoadSessionPipe implements PipeTransform<HttpSession | undefined, HttpSession | Promise<HttpSession>> {
  transform(session: HttpSession | undefined): HttpSession | Promise<HttpSession> {
    if (!session) {
      throw TidyKvSessionError.state('No session on this request: is SessionModule imported, does the route go through Nest middleware, and is the request path inside cookie.path?');
    }
    return session.isLoaded ? session : session.load();
  }
}

/**
 * Injects the request's {@link HttpSession}, already loaded. Import it from `@tidykv/session`, not
 * `@nestjs/common` (whose `Session` reads express-session's `req.session`):
 * `import { Session } from '@tidykv/session'`.
 */
export function Session(): ParameterDecorator {
  return currentSession(undefined, new LoadSessionPipe());
}
