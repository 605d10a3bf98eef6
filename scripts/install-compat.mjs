// Installs the Nest 11 toolchain used by `npm run test:nest11` into compat/nest11.
// It lives outside the workspaces on purpose: npm cannot hold Nest 11 and 12 side by side in one tree (ERESOLVE).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../compat/nest11/', import.meta.url));
if (process.env.TIDYKV_SKIP_COMPAT === '1' || !existsSync(`${dir}package.json`)) process.exit(0);
const args = existsSync(`${dir}package-lock.json`) ? ['ci'] : ['install'];
const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir, stdio: 'inherit' });
process.exit(r.status ?? 1);
