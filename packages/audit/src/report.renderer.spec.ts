import { describe, expect, it } from '@jest/globals';
import { TTL_BUCKETS, type PatternStats, type ScanReport } from './keyspace.scanner.js';
import { renderScanReport } from './report.renderer.js';

function pattern(name: string, memoryBytes: number, memoryWithoutTtlBytes: number, keysWithoutTtl: number): PatternStats {
  return {
    pattern: name,
    glob: name,
    keys: 10,
    keysWithoutTtl,
    types: { string: 10 },
    memoryBytes,
    memoryErrorBytes: 0,
    memoryWithoutTtlBytes,
    memorySampledKeys: 10,
    memorySampledBytes: memoryBytes,
    memoryExactKeys: 0,
    ttl: Object.fromEntries(TTL_BUCKETS.map((b) => [b, 0])) as PatternStats['ttl'],
    largest: [],
  };
}

function report(patterns: PatternStats[]): ScanReport {
  return {
    command: 'scan',
    nodes: ['127.0.0.1:1'],
    match: '*',
    memorySampleRate: 0.01,
    measureAbove: 8192,
    maxBlockMs: 1,
    keys: 20,
    keysWithoutTtl: patterns.reduce((n, p) => n + p.keysWithoutTtl, 0),
    memoryBytes: patterns.reduce((n, p) => n + p.memoryBytes, 0),
    memoryErrorBytes: 0,
    memoryWithoutTtlBytes: patterns.reduce((n, p) => n + p.memoryWithoutTtlBytes, 0),
    usedMemoryBytes: 5_000_000,
    vanished: 0,
    patterns,
    patternsCapped: false,
    topKeys: { byMemory: [], byLength: [] },
    blocking: { scriptCalls: 0, maxScriptUs: 0, keysPerCall: 1, maxScanUsPerCall: 0, scanCount: 1000 },
    durationMs: 1,
    interrupted: false,
  };
}

describe('HTML scan report', () => {
  it('makes the label column as wide as the longest label, so none is clipped on the left', () => {
    const long = 'spring:session:sessions:expires:org.example.very.long.namespace:<uuid>';
    const html = renderScanReport(report([pattern(long, 1000, 0, 0), pattern('a:<num>', 10, 10, 1)]), 'html');
    const labels = [...html.matchAll(/<text class="label" x="(\d+)"[^>]*>([^<]*)</g)].map((m) => ({ x: Number(m[1]), text: m[2] }));
    expect(labels).toHaveLength(2);
    // 12px monospace is at most 7.6 px a character: each right-aligned label starts at x >= 0.
    for (const l of labels) expect(l.x - l.text.replace(/&[a-z]+;/g, '_').length * 7.6).toBeGreaterThanOrEqual(0);
    // Labels over 60 characters are shortened in the middle, the full name stays in a tooltip.
    const veryLong = `${'segment:'.repeat(12)}<num>`;
    const html2 = renderScanReport(report([pattern(veryLong, 1, 0, 0)]), 'html');
    expect(html2).toContain(`<title>${veryLong.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</title>`);
    const shown = /<text class="label"[^>]*>([^<]*)</.exec(html2)![1];
    expect(shown.replace(/&[a-z]+;/g, '_').length).toBeLessThanOrEqual(60);
  });

  it('colours the share of memory without TTL, not the whole bar as soon as one key lacks a TTL', () => {
    const html = renderScanReport(report([pattern('a:<num>', 1000, 250, 1), pattern('b:<num>', 500, 0, 0)]), 'html');
    expect(html).toMatch(/data-pattern="a:&lt;num&gt;"[^>]*data-no-ttl-share="0.25"[^>]*width="(\d+)"/);
    const [, barW] = /data-pattern="a:&lt;num&gt;"[^>]*width="(\d+)"/.exec(html)!;
    const [, redW] = /<rect class="no-ttl"[^>]*width="(\d+)"/.exec(html)!;
    expect(Number(redW)).toBe(Math.round(Number(barW) * 0.25));
    expect(html.match(/<rect class="no-ttl"/g)).toHaveLength(1);
    expect(html).toContain('25% no TTL');
    expect(html).toContain('of used_memory 4.8 MiB');
  });
});
