import { TTL_BUCKETS, type PatternStats, type ScanReport, type TopKey } from './keyspace.scanner.js';
import type { FixReport } from './leak.fixer.js';
import type { OrphanReport } from './orphan.finder.js';

/** Output formats of the CLI. `html` exists for `scan` only. */
export type ReportFormat = 'table' | 'json' | 'csv' | 'html';

/** `1536` -> `1.5 KiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

function table(headers: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function csvCell(v: string | number): string {
  // A number is data, never a formula: -1 (no TTL) stays -1, not '-1.
  if (typeof v === 'number') return String(v);
  const s = v;
  // A leading = + - @ would make spreadsheets evaluate a key name as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function csv(headers: string[], rows: (string | number)[][]): string {
  return [headers, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

function types(p: PatternStats): string {
  return Object.entries(p.types)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => (Object.keys(p.types).length === 1 ? t : `${t}:${n}`))
    .join(' ');
}

function ttlSummary(p: PatternStats): string {
  return TTL_BUCKETS.filter((b) => p.ttl[b] > 0)
    .map((b) => `${b}:${p.ttl[b]}`)
    .join(' ');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function ttlText(pttl: number): string {
  if (pttl < 0) return 'none';
  const s = pttl / 1000;
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

function lengthText(k: TopKey): string {
  return k.type === 'string' ? `${k.length} B` : `${k.length} ${k.type === 'hash' ? 'fields' : k.type === 'stream' ? 'entries' : 'members'}`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 1000) / 10}%` : '0%';
}

function memoryText(bytes: number, error: number): string {
  return error > 0 ? `${formatBytes(bytes)} ±${formatBytes(error)}` : formatBytes(bytes);
}

const TOP_HEADERS = ['rank', 'by', 'key', 'type', 'pttl_ms', 'pattern', 'memory_bytes', 'length', 'node'];

function topRows(report: ScanReport): (string | number)[][] {
  const rows: (string | number)[][] = [];
  report.topKeys.byMemory.forEach((k, i) => rows.push([i + 1, 'memory', k.key, k.type, k.pttl, k.pattern, k.bytes ?? '', k.length, k.node]));
  report.topKeys.byLength.forEach((k, i) => rows.push([i + 1, 'length', k.key, k.type, k.pttl, k.pattern, k.bytes ?? '', k.length, k.node]));
  return rows;
}

/**
 * Renders a {@link ScanReport} as a terminal table, JSON, CSV or a self-contained HTML page.
 * CSV holds two tables separated by an empty line: the patterns, then the top keys.
 */
export function renderScanReport(report: ScanReport, format: ReportFormat = 'table'): string {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'csv':
      return (
        csv(
          [
            'pattern',
            'keys',
            'keys_without_ttl',
            'types',
            'memory_bytes',
            'memory_sampled_keys',
            ...TTL_BUCKETS.map((b) => `ttl_${b}`),
            'largest_key',
            'largest_bytes',
            'memory_error_bytes',
            'memory_without_ttl_bytes',
            'memory_exact_keys',
            'glob',
          ],
          report.patterns.map((p) => [
            p.pattern,
            p.keys,
            p.keysWithoutTtl,
            types(p),
            p.memoryBytes,
            p.memorySampledKeys,
            ...TTL_BUCKETS.map((b) => p.ttl[b]),
            p.largest[0]?.key ?? '',
            p.largest[0]?.bytes ?? '',
            p.memoryErrorBytes,
            p.memoryWithoutTtlBytes,
            p.memoryExactKeys,
            p.glob,
          ]),
        ) +
        '\n' +
        csv(TOP_HEADERS, topRows(report))
      );
    case 'html':
      return renderScanHtml(report);
    case 'table': {
      const head =
        `Scanned ${report.keys} keys on ${report.nodes.length} node(s) (${report.nodes.join(', ')}) in ${(report.durationMs / 1000).toFixed(1)} s` +
        `${report.interrupted ? ' - INTERRUPTED, resume with the same --checkpoint' : ''}\n` +
        `${report.keysWithoutTtl} keys without TTL holding ~${formatBytes(report.memoryWithoutTtlBytes)}; ` +
        `memory ~${memoryText(report.memoryBytes, report.memoryErrorBytes)} (95% bound; keys from ${formatBytes(report.measureAbove)} measured exactly, ` +
        `MEMORY USAGE on ${Math.round(report.memorySampleRate * 1000) / 10}% of the others); used_memory ${formatBytes(report.usedMemoryBytes)}\n` +
        `${report.patternsCapped ? 'Pattern limit reached: later patterns are counted under <other> (raise --max-patterns).\n' : ''}\n`;
      const rows = report.patterns.map((p) => [
        p.pattern,
        String(p.keys),
        String(p.keysWithoutTtl),
        types(p),
        memoryText(p.memoryBytes, p.memoryErrorBytes),
        pct(p.memoryWithoutTtlBytes, p.memoryBytes),
        ttlSummary(p),
        p.largest[0] ? `${p.largest[0].key} (${formatBytes(p.largest[0].bytes)})` : '',
      ]);
      const topMem = report.topKeys.byMemory.map((k, i) => [String(i + 1), k.key, k.type, formatBytes(k.bytes ?? 0), lengthText(k), ttlText(k.pttl), k.pattern]);
      const topLen = report.topKeys.byLength.map((k, i) => [String(i + 1), k.key, k.type, lengthText(k), k.bytes !== undefined ? formatBytes(k.bytes) : '', ttlText(k.pttl), k.pattern]);
      return (
        head +
        table(['PATTERN', 'KEYS', 'NO TTL', 'TYPES', 'MEMORY', 'MEM NO TTL', 'TTL', 'LARGEST'], rows, new Set([1, 2, 4, 5])) +
        `\n\nLargest keys by memory:\n` +
        table(['#', 'KEY', 'TYPE', 'MEMORY', 'LENGTH', 'TTL', 'PATTERN'], topMem, new Set([0, 3, 4])) +
        `\n\nLargest collections by element count:\n` +
        table(['#', 'KEY', 'TYPE', 'LENGTH', 'MEMORY', 'TTL', 'PATTERN'], topLen, new Set([0, 3, 4])) +
        '\n'
      );
    }
  }
}

const CHART_LIMIT = 30;
/** Labels longer than this are shortened in the middle (the full pattern is in the bar's tooltip). */
const LABEL_MAX = 60;
/** Width of one character of the 12px monospace label font, with some slack. */
const CHAR_W = 7.6;

function shortLabel(p: string): string {
  return p.length > LABEL_MAX ? `${p.slice(0, 28)}...${p.slice(-(LABEL_MAX - 31))}` : p;
}

function renderScanHtml(report: ScanReport): string {
  const top = report.patterns.slice(0, CHART_LIMIT);
  const max = Math.max(1, ...top.map((p) => p.memoryBytes));
  const barH = 22;
  // The label column is as wide as the longest label, so no label is clipped.
  const labelW = Math.ceil(Math.max(80, ...top.map((p) => shortLabel(p.pattern).length * CHAR_W)) + 12);
  const chartW = 420;
  const valueW = 200;
  const width = labelW + chartW + valueW;
  const height = top.length * barH + 10;
  const bars = top
    .map((p, i) => {
      const w = Math.max(1, Math.round((p.memoryBytes / max) * chartW));
      // The red part is the share of the pattern's memory held by keys without TTL.
      const share = p.memoryBytes > 0 ? Math.min(1, p.memoryWithoutTtlBytes / p.memoryBytes) : p.keysWithoutTtl > 0 ? 1 : 0;
      const red = Math.round(w * share);
      const y = i * barH + 5;
      const title = `${escapeHtml(p.pattern)}: ${memoryText(p.memoryBytes, p.memoryErrorBytes)}, ${pct(p.memoryWithoutTtlBytes, p.memoryBytes)} without TTL`;
      return (
        `<g class="row"><text class="label" x="${labelW - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(shortLabel(p.pattern))}<title>${escapeHtml(p.pattern)}</title></text>` +
        `<rect class="bar" data-pattern="${escapeHtml(p.pattern)}" data-bytes="${p.memoryBytes}" data-no-ttl-share="${Math.round(share * 1000) / 1000}" x="${labelW}" y="${y}" width="${w}" height="${barH - 6}"><title>${title}</title></rect>` +
        (red > 0 ? `<rect class="no-ttl" x="${labelW}" y="${y}" width="${red}" height="${barH - 6}"><title>${title}</title></rect>` : '') +
        `<text class="value" x="${labelW + w + 6}" y="${y + 15}">${formatBytes(p.memoryBytes)} (${pct(p.memoryWithoutTtlBytes, p.memoryBytes)} no TTL)</text></g>`
      );
    })
    .join('\n');
  const rows = report.patterns
    .map(
      (p) =>
        `<tr><td><code>${escapeHtml(p.pattern)}</code></td><td class="n">${p.keys}</td><td class="n${p.keysWithoutTtl > 0 ? ' warn' : ''}">${p.keysWithoutTtl}</td>` +
        `<td>${escapeHtml(types(p))}</td><td class="n">${escapeHtml(memoryText(p.memoryBytes, p.memoryErrorBytes))}</td><td class="n">${pct(p.memoryWithoutTtlBytes, p.memoryBytes)}</td><td>${escapeHtml(ttlSummary(p))}</td>` +
        `<td>${p.largest.map((l) => `<code>${escapeHtml(l.key)}</code> ${formatBytes(l.bytes)}`).join('<br>')}</td></tr>`,
    )
    .join('\n');
  const topRowsHtml = report.topKeys.byMemory
    .map(
      (k, i) =>
        `<tr><td class="n">${i + 1}</td><td><code>${escapeHtml(k.key)}</code></td><td>${k.type}</td><td class="n">${formatBytes(k.bytes ?? 0)}</td><td class="n">${escapeHtml(lengthText(k))}</td>` +
        `<td class="${k.pttl < 0 ? 'warn' : ''}">${ttlText(k.pttl)}</td><td><code>${escapeHtml(k.pattern)}</code></td></tr>`,
    )
    .join('\n');
  const topLenHtml = report.topKeys.byLength
    .map(
      (k, i) =>
        `<tr><td class="n">${i + 1}</td><td><code>${escapeHtml(k.key)}</code></td><td>${k.type}</td><td class="n">${escapeHtml(lengthText(k))}</td><td class="n">${k.bytes !== undefined ? formatBytes(k.bytes) : ''}</td>` +
        `<td class="${k.pttl < 0 ? 'warn' : ''}">${ttlText(k.pttl)}</td><td><code>${escapeHtml(k.pattern)}</code></td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tidykv-audit scan report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; }
h1 { font-size: 20px; }
h2 { font-size: 16px; }
.summary span { display: inline-block; margin-right: 24px; }
.side { display: flex; flex-wrap: wrap; gap: 32px; align-items: flex-start; }
svg text { font: 12px ui-monospace, monospace; fill: #1d2330; }
rect.bar { fill: #3b6fd4; }
rect.no-ttl { fill: #d2553b; }
table { border-collapse: collapse; margin-top: 16px; }
th, td { border-bottom: 1px solid #dde; padding: 4px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.warn { color: #b3261e; font-weight: 600; }
.legend span { margin-right: 16px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
</style>
</head>
<body>
<h1>tidykv-audit scan report</h1>
<p class="summary"><span>Nodes: ${escapeHtml(report.nodes.join(', '))}</span><span>Keys: ${report.keys}</span><span>Without TTL: <strong>${report.keysWithoutTtl}</strong> keys, ~${formatBytes(report.memoryWithoutTtlBytes)}</span>
<span>Memory in keys: ~${escapeHtml(memoryText(report.memoryBytes, report.memoryErrorBytes))} (95% bound) of used_memory ${formatBytes(report.usedMemoryBytes)}</span><span>Match: <code>${escapeHtml(report.match)}</code></span>${report.interrupted ? '<span><strong>Interrupted</strong></span>' : ''}${report.patternsCapped ? '<span><strong>Pattern limit reached</strong> (see &lt;other&gt;)</span>' : ''}</p>
<div class="side">
<section>
<h2>Memory by pattern</h2>
<p class="legend"><span><i style="background:#d2553b"></i>share of the pattern's memory in keys without TTL</span><span><i style="background:#3b6fd4"></i>in keys with a TTL</span></p>
<svg id="memory-chart" role="img" aria-label="Memory by key pattern" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
${bars}
</svg>
</section>
<section>
<h2>Largest keys</h2>
<table id="top-keys">
<thead><tr><th>#</th><th>Key</th><th>Type</th><th>Memory</th><th>Length</th><th>TTL</th><th>Pattern</th></tr></thead>
<tbody>
${topRowsHtml}
</tbody>
</table>
<h2>Largest collections by element count</h2>
<table id="top-length">
<thead><tr><th>#</th><th>Key</th><th>Type</th><th>Length</th><th>Memory</th><th>TTL</th><th>Pattern</th></tr></thead>
<tbody>
${topLenHtml}
</tbody>
</table>
</section>
</div>
<h2>Patterns</h2>
<table id="patterns">
<thead><tr><th>Pattern</th><th>Keys</th><th>No TTL</th><th>Types</th><th>Memory (95% bound)</th><th>Memory without TTL</th><th>TTL distribution</th><th>Largest keys</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<script>
// Records the laid-out size of each bar and label, so a headless browser run can prove the chart
// rendered and that no label runs out of the chart on the left.
document.querySelectorAll('#memory-chart rect.bar').forEach(function (r) {
  var box = r.getBBox();
  r.setAttribute('data-rendered-width', String(Math.round(box.width)));
});
document.querySelectorAll('#memory-chart text.label').forEach(function (t) {
  t.setAttribute('data-rendered-x', String(Math.round(t.getBBox().x)));
});
document.getElementById('memory-chart').setAttribute('data-rendered', 'true');
</script>
</body>
</html>
`;
}

/** Renders an {@link OrphanReport} as a table, JSON or CSV. */
export function renderOrphanReport(report: OrphanReport, format: Exclude<ReportFormat, 'html'> = 'table'): string {
  if (format === 'json') return JSON.stringify(report, null, 2) + '\n';
  if (format === 'csv') {
    return csv(
      ['kind', 'rule', 'key', 'type', 'members', 'dead_members', 'whole_key', 'memory_bytes', 'pttl_ms'],
      report.findings.map((f) => [f.kind, f.rule ?? '', f.key, f.type, f.members, f.deadMembers, f.wholeKey ? 'yes' : 'no', f.memoryBytes, f.pttl]),
    );
  }
  const totals = Object.entries(report.totals).map(([kind, t]) => [kind, String(t.keys), String(t.deadMembers), formatBytes(t.memoryBytes)]);
  const head =
    `Inspected ${report.keysScanned} keys on ${report.nodes.length} node(s) in ${(report.durationMs / 1000).toFixed(1)} s` +
    `${report.interrupted ? ' - INTERRUPTED, resume with the same --checkpoint' : ''}\n` +
    `Spring Data keyspaces: ${report.springDataKeyspaces.join(', ') || '(none found)'}\n\n`;
  if (report.findingsTotal === 0) return `${head}No orphans found.\n`;
  // report.findings holds the largest of the whole run, largest first (see OrphanReport.findings).
  const list = report.findings
    .slice(0, 50)
    .map((f) => [f.kind, f.key, String(f.members), String(f.deadMembers), f.wholeKey ? 'yes' : 'no', formatBytes(f.memoryBytes), f.pttl === -1 ? 'none' : `${f.pttl} ms`]);
  return (
    head +
    table(['KIND', 'KEYS', 'DEAD MEMBERS', 'MEMORY'], totals, new Set([1, 2, 3])) +
    `\n\n${report.findingsTotal} finding(s)${report.findingsTotal > list.length ? `, the ${list.length} largest shown (--json or --csv list the ${report.findings.length} largest)` : ''}:\n` +
    table(['KIND', 'KEY', 'MEMBERS', 'DEAD', 'WHOLE KEY', 'MEMORY', 'TTL'], list, new Set([2, 3, 5])) +
    '\n'
  );
}

/** Renders a {@link FixReport} as a table, JSON or CSV. */
export function renderFixReport(report: FixReport, format: Exclude<ReportFormat, 'html'> = 'table'): string {
  if (format === 'json') return JSON.stringify(report, null, 2) + '\n';
  const rows: [string, number][] = [];
  if (report.expire) {
    rows.push(['keys without TTL', report.expire.keysWithoutTtl], [report.apply ? 'TTL set (EXPIRE NX)' : 'TTL would be set', report.expire.expired], ['skipped (TTL appeared or key gone)', report.expire.skipped]);
  }
  if (report.prune) {
    const p = report.prune;
    rows.push(
      [report.apply ? 'dead members removed' : 'dead members to remove', p.membersRemoved],
      ['members kept (alive at removal)', p.membersKept],
      ['members restored (Cluster re-check)', p.membersRestored],
      [report.apply ? 'orphaned keys unlinked' : 'orphaned keys to unlink', p.keysUnlinked],
      ['keys kept (alive at removal)', p.keysKept],
    );
  }
  // Bytes, in their own rows: exact for unlinked keys (measured before UNLINK), estimated for members.
  const memory: [string, number][] = report.prune
    ? [
        [report.apply ? 'bytes freed by unlinking (measured before UNLINK)' : 'bytes unlinking would free (measured)', report.prune.keysUnlinkedBytes],
        [report.apply ? 'bytes freed by member removal (estimated: before - after)' : 'bytes member removal would free (estimated: dead share)', report.prune.membersRemovedBytes],
      ]
    : [];
  if (format === 'csv') return csv(['item', 'count'], [...rows, ...memory]);
  const freed = report.prune
    ? `Memory ${report.apply ? 'freed' : 'to free'}: ${formatBytes(report.prune.keysUnlinkedBytes + report.prune.membersRemovedBytes)} ` +
      `(${formatBytes(report.prune.keysUnlinkedBytes)} in unlinked keys, measured with MEMORY USAGE before removal; ` +
      `~${formatBytes(report.prune.membersRemovedBytes)} in removed members, ${report.apply ? 'estimated from MEMORY USAGE before and after' : 'estimated from each index\'s share of dead members'})\n`
    : '';
  return (
    `${report.apply ? 'APPLIED' : 'DRY RUN (nothing changed; add --apply)'}: inspected ${report.keysScanned} keys on ${report.nodes.length} node(s) in ${(report.durationMs / 1000).toFixed(1)} s` +
    `${report.interrupted ? ' - INTERRUPTED, resume with the same --checkpoint' : ''}\n` +
    `Change log: ${report.logFile}\n` +
    freed +
    '\n' +
    table(['ITEM', 'COUNT'], rows.map(([a, b]) => [a, String(b)]), new Set([1])) +
    '\n'
  );
}
