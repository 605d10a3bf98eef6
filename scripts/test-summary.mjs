// Prints one closing line for every Jest pass of `npm test` (Nest 12 and Nest 11).
import { readdirSync, readFileSync, rmSync } from 'node:fs';

const dir = new URL('../.test-results/', import.meta.url);
let passed = 0;
let failed = 0;
let skipped = 0;
const parts = [];
for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
  const r = JSON.parse(readFileSync(new URL(f, dir), 'utf8'));
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  parts.push(`${f.replace('.json', '')}: ${r.passed} passed, ${r.failed} failed`);
}
console.log(`(${parts.join('; ')})`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
rmSync(dir, { recursive: true, force: true });
process.exit(failed > 0 ? 1 : 0);
