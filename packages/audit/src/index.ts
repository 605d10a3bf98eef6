// The auditing library. The command-line program (runCli, buildProgram, EXIT_CODES, flag parsing)
// is `@tidykv/audit/cli`, so that importing the library does not load commander.
export { scanKeyspace, TTL_BUCKETS } from './keyspace.scanner.js';
export type { ScanReport, PatternStats, TtlBucket, TopKey } from './keyspace.scanner.js';
export { findOrphans } from './orphan.finder.js';
export type { OrphanReport, OrphanFinding, OrphanKind, OrphanTotals, OrphanTally } from './orphan.finder.js';
export { fixLeaks } from './leak.fixer.js';
export type { FixReport, ChangeLogEntry, PruneCounters } from './leak.fixer.js';
export { patternOf, classifySegment, foldPatterns, patternToGlob, looseKind, splitPattern, PatternFolder, OTHER_PATTERN } from './key-pattern.classifier.js';
export type { IdKind, ChainKind, FoldKind, PatternParts, PatternFolderState } from './key-pattern.classifier.js';
export { renderScanReport, renderOrphanReport, renderFixReport, formatBytes } from './report.renderer.js';
export type { ReportFormat } from './report.renderer.js';
export {
  DEFAULT_AUDIT_RUN_OPTIONS,
  DEFAULT_SCAN_OPTIONS,
  DEFAULT_ORPHAN_OPTIONS,
  DEFAULT_FIX_OPTIONS,
  DEFAULT_INDEX_RULES,
  tidykvIndexRules,
  validateScanOptions,
  validateOrphanOptions,
  validateFixOptions,
  parseDuration,
} from './audit.options.js';
export type {
  AuditRunOptions,
  AuditProgress,
  ScanOptions,
  OrphanOptions,
  FixOptions,
  IndexRule,
  ResolvedScanOptions,
  ResolvedOrphanOptions,
  ResolvedFixOptions,
} from './audit.options.js';
export { TidyKvAuditError } from './audit.errors.js';
export type { AuditErrorCode } from './audit.errors.js';
