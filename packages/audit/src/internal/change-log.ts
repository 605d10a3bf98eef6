import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TidyKvAuditError } from '../audit.errors.js';
import type { ChangeLogEntry } from '../orphan-finding.model.js';

/**
 * An append-only JSON-lines file. Entries are appended per batch, before the next batch starts,
 * so that what the log says was done is what was done even when the run is interrupted.
 */
export class ChangeLog {
  private ready?: Promise<void>;

  constructor(readonly file: string) {}

  /** Creates the file (or checks it is writable) before anything is changed. */
  async open(): Promise<void> {
    try {
      await mkdir(dirname(this.file), { recursive: true });
      await appendFile(this.file, '');
    } catch (err) {
      throw TidyKvAuditError.log(this.file, err);
    }
  }

  /** Appends `entries` (one JSON object per line). */
  async append(entries: ChangeLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      this.ready ??= mkdir(dirname(this.file), { recursive: true }).then(() => undefined);
      await this.ready;
      await appendFile(this.file, entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
    } catch (err) {
      throw TidyKvAuditError.log(this.file, err);
    }
  }
}
