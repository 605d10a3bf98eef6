// `npm run build`: compiles the Lua scripts into modules (first: the packages import them), then
// every TypeScript project in tsconfig.build.json: each published package twice, ES modules in
// dist and CommonJS in dist/cjs, so it works from `import` and from `require` with types for
// both. dist/cjs gets a package.json saying "commonjs", because the packages' own package.json
// says "module" and Node and TypeScript read a .js/.d.ts file by the nearest one.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PUBLISHED = ['core', 'session', 'repository', 'audit'];
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

execFileSync(process.execPath, [join(root, 'scripts/compile-lua.mjs')], { stdio: 'inherit' });

// Build info lives outside dist (so that no tarball ships it). When an output folder is gone, drop
// its build info, or tsc -b would trust it and emit nothing.
const forget = (dir, out, info) => {
  if (!existsSync(join(dir, out))) rmSync(join(dir, info), { force: true });
};
for (const pkg of PUBLISHED) {
  const dir = join(root, 'packages', pkg);
  // A dist from before the dual build kept its build info inside; start that one afresh.
  if (existsSync(join(dir, 'dist/.tsbuildinfo'))) rmSync(join(dir, 'dist'), { recursive: true, force: true });
  forget(dir, 'dist/index.js', '.tsbuild/esm.tsbuildinfo');
  forget(dir, 'dist/cjs/index.js', '.tsbuild/cjs.tsbuildinfo');
}
for (const app of ['libs/testing', 'apps/demo']) forget(join(root, app), 'dist', '.tsbuild/tsbuildinfo');

const args = process.argv.slice(2);
execFileSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.build.json'), ...args], { stdio: 'inherit', cwd: root });

for (const pkg of PUBLISHED) {
  const cjs = join(root, 'packages', pkg, 'dist/cjs');
  if (!existsSync(cjs)) continue;
  writeFileSync(join(cjs, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
}
