import { TidyKvError, describeValue } from '@tidykv/core';

/** Stable codes of the errors @tidykv/audit raises (besides the core ones it passes through). */
export type AuditErrorCode =
  | 'TIDYKV_AUDIT_CHECKPOINT'
  | 'TIDYKV_AUDIT_TOPOLOGY'
  | 'TIDYKV_AUDIT_UNSUPPORTED'
  | 'TIDYKV_AUDIT_LOG';

/**
 * Base error of @tidykv/audit. `code` is stable; the message says what to do about it. The CLI
 * maps every error to exit code 2.
 */
export class TidyKvAuditError extends TidyKvError {
  declare readonly code: AuditErrorCode;

  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** A checkpoint file cannot be read or was written by a different run. */
  static checkpoint(file: string, problem: string, cause?: unknown): TidyKvAuditError {
    return new TidyKvAuditError(
      'TIDYKV_AUDIT_CHECKPOINT',
      `Cannot resume from checkpoint ${JSON.stringify(file)}: ${problem}. ` +
        'Resume with the same command and options that wrote it, or delete the file to start over.',
      { cause },
    );
  }

  /** The nodes to scan could not be found (no replicas, a cluster still starting...). */
  static topology(problem: string): TidyKvAuditError {
    return new TidyKvAuditError('TIDYKV_AUDIT_TOPOLOGY', problem);
  }

  /** The server lacks a command the operation relies on. */
  static unsupported(what: string, found: unknown): TidyKvAuditError {
    return new TidyKvAuditError(
      'TIDYKV_AUDIT_UNSUPPORTED',
      `${what} needs Redis >= 7.0 (EXPIRE ... NX); the server reports ${describeValue(found)}. Upgrade Redis, or set TTLs by hand.`,
    );
  }

  /** The change log cannot be written; `fix` refuses to change anything it cannot record. */
  static log(file: string, cause: unknown): TidyKvAuditError {
    return new TidyKvAuditError(
      'TIDYKV_AUDIT_LOG',
      `Cannot write the change log ${JSON.stringify(file)}: ${cause instanceof Error ? cause.message : String(cause)}. ` +
        'Pass --log with a writable path; fix changes nothing it cannot record.',
      { cause },
    );
  }
}
