import { writeFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { RedisConnection, TidyKvError } from '@tidykv/core';
import { DEFAULT_ORPHAN_OPTIONS, DEFAULT_SCAN_OPTIONS, DEFAULT_SPRING_SESSION_NAMESPACE, tidykvIndexRules, parseDuration, type AuditRunOptions, type IndexRule, type OrphanOptions } from './audit.options.js';
import { connectionOptionsFromFlags, type ConnectionFlags } from './connection.flags.js';
import { PACKAGE_VERSION } from './internal/package-version.js';
import { createProgress } from './internal/progress.js';
import { scanKeyspace } from './keyspace.scanner.js';
import { fixLeaks } from './leak.fixer.js';
import { findOrphans } from './orphan.finder.js';
import { renderFixReport, renderOrphanReport, renderScanReport, type ReportFormat } from './report.renderer.js';

/** Exit codes of `tidykv-audit`. */
export const EXIT_CODES = Object.freeze({
  /** Nothing found. */
  clean: 0,
  /** Findings: keys without TTL (scan), orphans (orphans), changes made or due (fix). */
  findings: 1,
  /** Bad flags, unreachable Redis, or any other error. */
  error: 2,
});

/** Where the CLI writes and what it reads; the real process by default, replaceable in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C: the run stops after the current batch. */
  signal?: AbortSignal;
}

function num(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new CommanderError(2, 'tidykv.invalid', `error: ${flag} expects a number, got ${JSON.stringify(v)}`);
    return n;
  };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

// Each builder chains on the one before, so that @commander-js/extra-typings infers every flag's
// type from its declaration: the action handlers get typed options, with no casts.

/** A command with the connection flags and the run flags every command shares. */
function runCommand(name: string) {
  // Commands built on their own and added with addCommand do not inherit the program's
  // exitOverride: without their own, a bad flag made commander exit the process with 1 instead of
  // runCli returning 2 (bad flags), as the README documents.
  return new Command(name)
    .exitOverride()
    .option('--url <url>', 'redis://[user:password@]host:port[/db] (rediss:// for TLS)')
    .option('--host <host>', 'server host (with --port)')
    .option('--port <port>', 'server port')
    .option('--db <index>', 'database index (standalone, Sentinel)')
    .option('--user <name>', 'ACL user name')
    .option('--password <password>', 'password; prefer the TIDYKV_AUDIT_PASSWORD or REDISCLI_AUTH env variables')
    .option('--tls', 'connect with TLS')
    .option('--tls-ca <file>', 'PEM file of trusted CAs (implies TLS)')
    .option('--tls-servername <name>', 'TLS server name (SNI)')
    .option('--cluster <nodes>', 'Redis Cluster seed nodes, host:port,host:port')
    .option('--sentinels <nodes>', 'Sentinel addresses, host:port,host:port (with --sentinel-name)')
    .option('--sentinel-name <name>', 'Sentinel master group name')
    .option('--connect-timeout <ms>', 'connect timeout in ms')
    .option('--command-timeout <ms>', 'per-batch timeout in ms (default 10000)')
    .option('--replicas', 'read from replicas instead of masters (scan, orphans)')
    .option('--match <pattern>', 'SCAN MATCH pattern', DEFAULT_SCAN_OPTIONS.match)
    .option('--count <n>', 'SCAN COUNT hint', num('--count'), DEFAULT_SCAN_OPTIONS.count)
    .option('--rate <keysPerSecond>', 'limit on keys per second (all nodes together)', num('--rate'))
    .option('--inflight <n>', 'batches in flight per node', num('--inflight'), DEFAULT_SCAN_OPTIONS.inflight)
    .option('--checkpoint <file>', 'save progress there; rerun with the same file to resume');
}

/** `orphans` and `fix`: the run flags, the layouts to check, and the table/JSON/CSV output flags. */
function orphanCommand(name: 'orphans' | 'fix') {
  return runCommand(name)
    .option('--spring-session-namespace <ns>', 'Spring Session key namespace', DEFAULT_SPRING_SESSION_NAMESPACE)
    .option('--no-spring-session', 'skip Spring Session checks')
    .option('--spring-data-keyspace <keyspace>', 'Spring Data Redis keyspace to check (repeatable)', collect, [] as string[])
    .option('--no-detect-keyspaces', 'only check the keyspaces given with --spring-data-keyspace')
    .option('--index-rule <rule>', 'extra index: name=glob or name=glob=>target with $member and $1.. (repeatable)', collect, [] as string[])
    .option('--tidykv-prefix <prefix>', "key prefix of tidykv's own indexes (the modules' keyPrefix)", 'tkv:')
    .option('--no-default-index-rules', "skip tidykv's own index layouts")
    .option('--member-batch <n>', 'members checked per round trip', num('--member-batch'), DEFAULT_ORPHAN_OPTIONS.memberBatch)
    .option('--json', 'JSON output')
    .option('--csv', 'CSV output')
    .option('-o, --output <file>', 'write the report to a file instead of stdout');
}

type RunFlags = ReturnType<ReturnType<typeof runCommand>['opts']>;
type OrphanFlags = ReturnType<ReturnType<typeof orphanCommand>['opts']>;
interface FormatFlags {
  json?: true;
  csv?: true;
  output?: string;
}

/** The report format of `orphans` and `fix`, which have no HTML report. */
function formatOf(f: FormatFlags, html?: true): Exclude<ReportFormat, 'html'> {
  const chosen = (['json', 'csv'] as const).filter((k) => f[k]);
  const all = html ? [...chosen, 'html'] : chosen;
  if (all.length > 1) throw new CommanderError(2, 'tidykv.format', `error: choose one of ${all.map((c) => `--${c}`).join(', ')}`);
  return chosen[0] ?? 'table';
}

/** The report format of `scan`: {@link formatOf}, or `html`. */
function scanFormatOf(f: FormatFlags & { html?: true }): ReportFormat {
  const format = formatOf(f, f.html);
  return f.html ? 'html' : format;
}

/** Parses `name=glob` or `name=glob=>target`. */
export function parseIndexRule(text: string): IndexRule {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new CommanderError(2, 'tidykv.rule', `error: --index-rule expects name=glob[=>target], got ${JSON.stringify(text)}`);
  const name = text.slice(0, eq);
  const rest = text.slice(eq + 1);
  const arrow = rest.indexOf('=>');
  return arrow === -1 ? { name, match: rest } : { name, match: rest.slice(0, arrow), target: rest.slice(arrow + 2) };
}

function runOptions(f: RunFlags, io: CliIo, label: string): AuditRunOptions & { stopProgress: () => void } {
  const progress = createProgress(io.stderr, label);
  return {
    replicas: f.replicas === true,
    match: f.match,
    count: f.count,
    rate: f.rate,
    inflight: f.inflight,
    checkpoint: f.checkpoint,
    signal: io.signal,
    onProgress: (p) => progress.update(p),
    stopProgress: () => progress.stop(),
  };
}

function orphanOptions(f: OrphanFlags): OrphanOptions {
  const rules = f.indexRule.map(parseIndexRule);
  return {
    springSessionNamespace: f.springSession === false ? false : f.springSessionNamespace,
    springDataKeyspaces: f.springDataKeyspace,
    detectSpringDataKeyspaces: f.detectKeyspaces,
    indexRules: [...(f.defaultIndexRules ? tidykvIndexRules(f.tidykvPrefix) : []), ...rules],
    memberBatch: f.memberBatch,
  };
}

async function output(f: FormatFlags, io: CliIo, text: string): Promise<void> {
  if (typeof f.output === 'string') await writeFile(f.output, text);
  else io.stdout.write(text);
}

async function withConnection<T>(f: ConnectionFlags, io: CliIo, fn: (conn: RedisConnection) => Promise<T>): Promise<T> {
  const conn = RedisConnection.create(connectionOptionsFromFlags(f, io.env), 'connection', 'tidykv-audit');
  // ioredis reports connection trouble as events too; the error surfaces through the command that fails.
  conn.client.on('error', () => {});
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

function interruptedNote(io: CliIo, interrupted: boolean, checkpoint: string | undefined): void {
  if (!interrupted) return;
  io.stderr.write(
    checkpoint
      ? `tidykv-audit: stopped after the current batch; progress saved in ${checkpoint}. Run the same command again to resume.\n`
      : 'tidykv-audit: stopped after the current batch (no --checkpoint given, so a rerun starts over).\n',
  );
}

/** Builds the commander program; `result` receives each command's exit code. */
export function buildProgram(io: CliIo, result: { code: number }): Command {
  const program = new Command('tidykv-audit')
    .version(PACKAGE_VERSION)
    .description('Find and safely fix Redis memory leaks: keys without TTL, orphaned index members, partial sessions.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError();

  const scan = runCommand('scan')
    .option('--json', 'JSON output')
    .option('--csv', 'CSV output')
    .option('--html', 'self-contained HTML report with a chart of memory by pattern')
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .description('Walk the keyspace with SCAN and report key patterns: counts, keys without TTL, types, memory, TTL distribution, largest keys. Read-only.')
    .addOption(new Option('--type <type>', 'SCAN TYPE filter').choices(['string', 'hash', 'set', 'zset', 'list', 'stream'] as const))
    .option('--sample-rate <fraction>', 'fraction of keys measured with MEMORY USAGE (1 = exact)', num('--sample-rate'), DEFAULT_SCAN_OPTIONS.memorySampleRate)
    .option('--memory-samples <n>', 'MEMORY USAGE SAMPLES for nested values (0 = all)', num('--memory-samples'), DEFAULT_SCAN_OPTIONS.memorySamples)
    .option('--largest <n>', 'largest keys listed per pattern', num('--largest'), DEFAULT_SCAN_OPTIONS.largestKeys)
    .option('--fold <n>', 'merge patterns with more than n variants of one literal segment', num('--fold'), DEFAULT_SCAN_OPTIONS.foldThreshold)
    .option('--max-block <ms>', 'blocking budget: no command the scan sends should keep the server busy longer', num('--max-block'), DEFAULT_SCAN_OPTIONS.maxBlockMs)
    .option('--measure-above <bytes>', 'always measure keys whose STRLEN / element count suggests at least this size', num('--measure-above'), DEFAULT_SCAN_OPTIONS.measureAbove)
    .option('--top <n>', 'length of the top-keys lists (by memory, by element count)', num('--top'), DEFAULT_SCAN_OPTIONS.topKeys)
    .option('--max-patterns <n>', 'patterns kept at most; further ones are counted under <other>', num('--max-patterns'), DEFAULT_SCAN_OPTIONS.maxPatterns)
    .action(async (f) => {
      const format = scanFormatOf(f);
      const run = runOptions(f, io, 'scan');
      const report = await withConnection(f, io, (conn) =>
        scanKeyspace(conn, {
          ...run,
          type: f.type,
          memorySampleRate: f.sampleRate,
          memorySamples: f.memorySamples,
          largestKeys: f.largest,
          foldThreshold: f.fold,
          maxBlockMs: f.maxBlock,
          measureAbove: f.measureAbove,
          topKeys: f.top,
          maxPatterns: f.maxPatterns,
        }).finally(run.stopProgress),
      );
      await output(f, io, renderScanReport(report, format));
      interruptedNote(io, report.interrupted, f.checkpoint);
      result.code = report.keysWithoutTtl > 0 ? EXIT_CODES.findings : EXIT_CODES.clean;
    });

  const orphans = orphanCommand('orphans')
    .description('Find leftovers of Spring Data Redis repositories, Spring Session and tidykv indexes. Read-only.')
    .action(async (f) => {
      const format = formatOf(f);
      const run = runOptions(f, io, 'orphans');
      const report = await withConnection(f, io, (conn) => findOrphans(conn, { ...run, ...orphanOptions(f) }).finally(run.stopProgress));
      await output(f, io, renderOrphanReport(report, format));
      interruptedNote(io, report.interrupted, f.checkpoint);
      result.code = report.findingsTotal > 0 ? EXIT_CODES.findings : EXIT_CODES.clean;
    });

  const fix = orphanCommand('fix')
    .description('Repair leaks: a dry run unless --apply. Every change is appended to a JSON-lines log.')
    .option('--apply', 'make the changes (default: dry run)')
    .option('--expire <duration>', 'give keys without TTL this TTL (EXPIRE NX), e.g. 30d, 12h, 3600')
    .option('--prune-orphans', 'remove dead index members and orphaned keys, each re-checked at removal')
    .option('--log <file>', 'change log (JSON lines, appended; default tidykv-audit-fix-<time>.jsonl)')
    .action(async (f) => {
      const format = formatOf(f);
      const expireSeconds = f.expire === undefined ? undefined : parseDuration(f.expire, '--expire');
      const apply = f.apply === true;
      const run = runOptions(f, io, apply ? 'fix' : 'fix (dry run)');
      const report = await withConnection(f, io, (conn) =>
        fixLeaks(conn, {
          ...run,
          ...orphanOptions(f),
          apply,
          expireSeconds,
          pruneOrphans: f.pruneOrphans === true,
          logFile: f.log,
        }).finally(run.stopProgress),
      );
      await output(f, io, renderFixReport(report, format));
      interruptedNote(io, report.interrupted, f.checkpoint);
      result.code = report.changes > 0 ? EXIT_CODES.findings : EXIT_CODES.clean;
    });

  return program.addCommand(scan).addCommand(orphans).addCommand(fix);
}

/**
 * Runs the CLI on `argv` (as `process.argv`: node, script, args...) and resolves to the exit code:
 * 0 nothing found, 1 findings, 2 error. Never throws.
 */
export async function runCli(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const result = { code: EXIT_CODES.clean as number };
  const program = buildProgram(io, result);
  try {
    await program.parseAsync(argv);
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here too, successfully.
      if (err.exitCode === 0) return EXIT_CODES.clean;
      if (err.code.startsWith('tidykv.')) io.stderr.write(`${err.message}\n`);
      return EXIT_CODES.error;
    }
    const code = err instanceof TidyKvError ? ` [${err.code}]` : '';
    io.stderr.write(`tidykv-audit: ${err instanceof Error ? err.message : String(err)}${code}\n`);
    return EXIT_CODES.error;
  }
}
