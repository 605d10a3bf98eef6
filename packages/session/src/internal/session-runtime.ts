import { Logger } from '@nestjs/common';
import { TidyKvConfigError } from '@tidykv/core';
import type { ResolvedSessionOptions } from '../session.options.js';
import { LazyAttributeBuffer } from './lazy-attributes.js';
import type { LegacySessionMigrator } from './legacy-migration.js';
import type { SessionRepository } from './session-repository.js';

/**
 * What every request's {@link HttpSession} shares: the options, the repository and the lazy
 * attribute buffer (request policy, above the repository). One per SessionModule.
 */
export class SessionRuntime {
  readonly lazy: LazyAttributeBuffer;
  /** Migrates express-session + connect-redis sessions (the `legacy` option); undefined when off. */
  legacy: LegacySessionMigrator | undefined = undefined;
  private integerCodecChecked = false;
  private insecureWarned = false;

  constructor(
    readonly options: ResolvedSessionOptions,
    readonly repository: SessionRepository,
    /** The Redis key of a session, for error messages that name it. */
    readonly keyOf: (id: string) => string,
    private readonly logger: Pick<Logger, 'warn'> = new Logger('SessionModule'),
  ) {
    this.lazy = new LazyAttributeBuffer(options.lazyAttributes, options.touchIntervalMs);
  }

  /** `increment` relies on the codec storing integers as decimal text, which HINCRBY reads and writes. */
  checkIntegerCodec(): void {
    if (this.integerCodecChecked) return;
    const c = this.options.codec;
    if (c.encode(41) !== '41' || c.decode('42') !== 42) {
      throw TidyKvConfigError.invalid(
        'SessionModule.codec',
        c.name,
        'a codec that stores integers as decimal text (jsonCodec does)',
        'increment() updates the stored value with HINCRBY, so the codec must encode 42 as "42".',
      );
    }
    this.integerCodecChecked = true;
  }

  /** Logs once that a Secure cookie was withheld from a plain-HTTP request, naming the fix. */
  warnInsecureOnce(): void {
    if (this.insecureWarned) return;
    this.insecureWarned = true;
    this.logger.warn(
      'A Secure session cookie was not set because the request did not arrive over HTTPS, so no session was created or renamed. ' +
        "Behind a TLS-terminating proxy, trust it: Express `app.set('trust proxy', 1)`, or SessionModule option `proxy: true` " +
        '(needed on Fastify); in local development over plain HTTP, set cookie.secure to false.',
    );
  }
}
