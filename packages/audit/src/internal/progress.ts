import cliProgress from 'cli-progress';
import type { AuditProgress } from '../audit.options.js';

/** A progress display: a bar on a terminal, nothing otherwise. */
export interface ProgressDisplay {
  update(p: AuditProgress): void;
  stop(): void;
}

/**
 * A cli-progress bar on `stream` when it is a TTY; a no-op otherwise, so that logs and pipes get
 * no escape sequences.
 */
export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string): ProgressDisplay {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} [{bar}] {percentage}% | {value}/{total} keys | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const total = Math.max(p.keysTotal, p.keysSeen);
      if (!started) {
        bar.start(total, p.keysSeen);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(p.keysSeen);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
