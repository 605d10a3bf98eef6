import { Catch, HttpStatus, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { TidyKvError, TidyKvSessionError, isRedisFailure } from '@tidykv/session';

/** The JSON body of every answer this filter gives. */
export interface TidyKvErrorBody {
  statusCode: number;
  /** The error's stable code, e.g. TIDYKV_UNAVAILABLE. */
  code: string;
  message: string;
}

/**
 * The one place where tidykv's typed errors become HTTP answers (the libraries never throw HTTP
 * errors). 503 for "Redis could not be used", carrying the stable code so that a client can tell
 * TIDYKV_UNAVAILABLE (nothing was applied, retry) from TIDYKV_OUTCOME_UNKNOWN (it may have been
 * applied); 401 for a session that was logged out while the request ran; 500 for the rest. The
 * end-of-request session save is answered by the session middleware itself, with the same body.
 * Works on Express and Fastify alike (through the HTTP adapter).
 */
@Catch(TidyKvError)
export class TidyKvExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('TidyKvExceptionFilter');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(err: TidyKvError, host: ArgumentsHost): void {
    const body = this.bodyFor(err);
    if (body.statusCode >= 500) this.logger.error(`${err.name} (${err.code}): ${err.message}`);
    this.adapterHost.httpAdapter.reply(host.switchToHttp().getResponse(), body, body.statusCode);
  }

  private bodyFor(err: TidyKvError): TidyKvErrorBody {
    // Through `unknown`: the core error classes share TidyKvError's shape, so narrowing `err` itself
    // by the guard would leave `never` for the branches below.
    const failure: unknown = err;
    if (isRedisFailure(failure)) {
      const message =
        failure.code === 'TIDYKV_OUTCOME_UNKNOWN'
          ? 'Redis did not confirm the write; it may or may not have been applied. Read the state back before retrying.'
          : 'Redis is unavailable and nothing was applied; retry shortly.';
      return { statusCode: HttpStatus.SERVICE_UNAVAILABLE, code: failure.code, message };
    }
    if (err instanceof TidyKvSessionError && err.code === 'TIDYKV_SESSION_GONE') {
      return { statusCode: HttpStatus.UNAUTHORIZED, code: err.code, message: 'The session ended while this request ran (logged out or expired); log in again.' };
    }
    // Anything else is a bug or bad stored data: say which kind, not the details.
    return { statusCode: HttpStatus.INTERNAL_SERVER_ERROR, code: err.code, message: 'Internal server error.' };
  }
}
