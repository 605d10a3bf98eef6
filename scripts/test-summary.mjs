// Prints one closing line for every step of `npm test` (lint, cycles, Jest on Nest 12 and
// Nest 11, the consumer suite): "N passed, N failed", which CI reads as the verdict of the whole
// run. Arguments name the steps in the order to list them; other result files follow.
import { readdirSync, readFileSync, rmSync } from 'node:fs';

const dir = new URL('../.test-results/', import.meta.url);
let passed = 0;
let failed = 0;
let skipped = 0;
const parts = [];
const names = readdirSync(dir).filter((n) => n.endsWith('.json')).map((n) => n.replace('.json', ''));
const order = process.argv.slice(2);
const rank = (n) => (order.includes(n) ? order.indexOf(n) : order.length);
names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
for (const name of names) {
  const r = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8'));
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped ?? 0;
  parts.push(`${name}: ${r.passed} passed, ${r.failed} failed${r.note ? ` (${r.note})` : ''}`);
}
console.log(`(${parts.join('; ')})`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
rmSync(dir, { recursive: true, force: true });
process.exit(failed > 0 || names.length === 0 ? 1 : 0);
