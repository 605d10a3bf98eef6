#!/usr/bin/env node
// The `tidykv-audit` bin. It is committed (not built) so that it exists when npm installs the
// workspace: npm links a bin only if its file is there, and dist/ is not built until `npm run build`.
// Without it, `npx tidykv-audit` in a fresh clone asks the registry for an unrelated package.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'tidykv-audit: the CLI is not built yet (packages/audit/dist/cli.js is missing).\n' +
      'Run `npm run build` at the root of the tidykv repository, then try again.\n',
  );
  process.exit(1);
}
await import(cli.href);
