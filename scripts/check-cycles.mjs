// Fails on any import cycle in the TypeScript sources, tests and benchmarks, type-only imports
// included: a cycle that only types close still ties the two modules' designs together, and
// `import type` today is a value import after the next refactor. Uses dpdm (TypeScript's own
// parser) without its --transform option, which is what would drop type-only edges. Workspace
// packages resolve to their sources through tsconfig.test.json's paths, so cycles across packages
// count too, and no build is needed.
//
// Usage: node scripts/check-cycles.mjs [--json <file>]   (npm run lint:cycles)
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree, prettyCircular } from 'dpdm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRIES = ['packages/*/src/**/*.ts', 'packages/*/test/**/*.ts', 'libs/*/src/**/*.ts', 'libs/*/test/**/*.ts', 'apps/*/src/**/*.ts', 'apps/*/test/**/*.ts', 'bench/**/*.ts'];

const tree = await parseDependencyTree(ENTRIES, {
  cwd: root,
  context: root,
  tsconfig: join(root, 'tsconfig.test.json'),
  transform: false,
  skipDynamicImports: false,
  exclude: /\/node_modules\/|\/dist\//,
});
const circulars = parseCircular(tree);
const files = Object.keys(tree).filter((f) => !f.includes('node_modules')).length;

const json = process.argv.indexOf('--json');
if (json > 0) writeFileSync(process.argv[json + 1], JSON.stringify({ files, circulars }));

if (circulars.length === 0) {
  console.log(`cycles: none in ${files} files (type-only imports included)`);
} else {
  console.error(`cycles: ${circulars.length} import cycle(s) in ${files} files (type-only imports count; each line is one cycle, the last module imports the first):`);
  console.error(prettyCircular(circulars, '  '));
  process.exitCode = 1;
}
