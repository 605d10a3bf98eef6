import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { TidyKvAuditError } from '../audit.errors.js';

/** Where one node's SCAN stands. */
export interface NodeCursor {
  cursor: string;
  done: boolean;
}

/** Content of a checkpoint file. `state` holds the command's counters so far. */
export interface CheckpointData<S> {
  version: 1;
  command: string;
  /** Options that change what a cursor means (match, type, count...): a resume must use the same. */
  fingerprint: string;
  nodes: Record<string, NodeCursor>;
  state: S;
  updatedAt: string;
}

/**
 * A checkpoint file, written atomically (temp file + rename) so that a crash mid-write leaves the
 * previous checkpoint intact rather than a truncated one.
 */
export class Checkpoint<S> {
  private lastWrite = 0;

  private constructor(
    readonly file: string,
    private readonly command: string,
    private readonly fingerprint: string,
  ) {}

  /** Opens `file`, returning the saved progress when it exists and belongs to the same run. */
  static async open<S>(file: string, command: string, fingerprint: string, nodeIds: string[]): Promise<{ checkpoint: Checkpoint<S>; saved?: CheckpointData<S> }> {
    const checkpoint = new Checkpoint<S>(file, command, fingerprint);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoint };
      throw TidyKvAuditError.checkpoint(file, 'it cannot be read', err);
    }
    let saved: CheckpointData<S>;
    try {
      saved = JSON.parse(text) as CheckpointData<S>;
    } catch (err) {
      throw TidyKvAuditError.checkpoint(file, 'it is not valid JSON', err);
    }
    if (saved.version !== 1 || saved.command !== command) {
      throw TidyKvAuditError.checkpoint(file, `it was written by \`${String(saved.command)}\`, not \`${command}\``);
    }
    if (saved.fingerprint !== fingerprint) {
      throw TidyKvAuditError.checkpoint(file, `it was written with other options (${saved.fingerprint}; now ${fingerprint})`);
    }
    const known = Object.keys(saved.nodes).sort().join(',');
    if (known !== [...nodeIds].sort().join(',')) {
      // SCAN cursors are only meaningful on the node that issued them.
      throw TidyKvAuditError.checkpoint(file, `it covers nodes ${known}, but the server now has ${nodeIds.join(',')}`);
    }
    return { checkpoint, saved };
  }

  /** Writes the checkpoint; with `throttleMs`, skips the write when the last one is more recent. */
  async save(nodes: Record<string, NodeCursor>, state: S, throttleMs = 0): Promise<void> {
    const now = Date.now();
    if (throttleMs > 0 && now - this.lastWrite < throttleMs) return;
    this.lastWrite = now;
    const data: CheckpointData<S> = { version: 1, command: this.command, fingerprint: this.fingerprint, nodes, state, updatedAt: new Date(now).toISOString() };
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(data));
      await rename(tmp, this.file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw TidyKvAuditError.checkpoint(this.file, 'it cannot be written', err);
    }
  }

  /** Deletes the file once the run has finished: the next run with the same path starts fresh. */
  async remove(): Promise<void> {
    await rm(this.file, { force: true });
  }
}
