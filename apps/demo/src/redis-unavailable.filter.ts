import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { RedisUnavailableError } from '@tidykv/core';

/** Maps a Redis outage to 503: the library throws typed errors, the app decides the HTTP status. */
@Catch(RedisUnavailableError)
export class RedisUnavailableFilter implements ExceptionFilter {
  catch(err: RedisUnavailableError, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<{ status(code: number): { json(body: unknown): void } }>();
    res.status(503).json({ statusCode: 503, code: err.code, message: 'Session store unavailable, retry shortly.' });
  }
}
