// `npm test` after the type check: every step runs even when an earlier one fails, so one run
// shows everything that is wrong, and the run closes with one line for all of them
// (scripts/test-summary.mjs: "N passed, N failed"), exiting non-zero if any step failed.
//
//   lint      ESLint over the whole repository (eslint.config.js)          npm run lint
//   cycles    import cycles, type-only imports included                      npm run lint:cycles
//   nest12    the Jest suites (Nest 12, ESM)                                 npm run test:unit
//   nest11    the Nest-facing suites again on Nest 11                        npm run test:nest11
//   consumer  packed tarballs installed into generated Nest apps             npm run test:consumer
//
// Each step leaves .test-results/<step>.json ({ passed, failed, skipped, note? }). Lint and the
// cycle check count as one check each; Jest and the consumer suite count their tests.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, '.test-results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

const npm = (script) => ['npm', ['run', '--silent', script]];
const STEPS = [
  { name: 'lint', run: npm('lint'), check: true },
  { name: 'cycles', run: npm('lint:cycles'), check: true },
  { name: 'nest12', run: npm('test:unit') },
  { name: 'nest11', run: npm('test:nest11') },
  { name: 'consumer', run: npm('test:consumer') },
];

const only = process.argv.slice(2);
for (const step of STEPS) {
  if (only.length > 0 && !only.includes(step.name)) continue;
  console.log(`\n=== ${step.name}: ${step.run[0]} ${step.run[1].join(' ')}`);
  const started = Date.now();
  const r = spawnSync(step.run[0], step.run[1], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const file = join(results, `${step.name}.json`);
  const code = r.status ?? 1;
  if (step.check) {
    writeFileSync(file, JSON.stringify({ passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, note: code === 0 ? 'clean' : 'findings above' }));
  } else if (!existsSync(file)) {
    writeFileSync(file, JSON.stringify({ passed: 0, failed: 1, skipped: 0, note: `exited ${code} before reporting` }));
  } else if (code !== 0) {
    // A runner can fail with every test green (an open handle, no tests found): that is a failure.
    const res = JSON.parse(readFileSync(file, 'utf8'));
    if (res.failed === 0) writeFileSync(file, JSON.stringify({ ...res, failed: 1, note: `exited ${code} with no failed test` }));
  }
  console.log(`=== ${step.name}: exit ${code} after ${seconds} s`);
}

const summary = spawnSync(process.execPath, [join(root, 'scripts/test-summary.mjs'), ...STEPS.map((s) => s.name)], { cwd: root, stdio: 'inherit' });
process.exit(summary.status ?? 1);
