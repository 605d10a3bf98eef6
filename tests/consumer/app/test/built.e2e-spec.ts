// The scenario on the app's built output (E2E_START, e.g. dist/main.js), started as its own
// process with REDIS_URL and PORT=0; the bundled app runs it on its bundle.
import { spawn } from 'node:child_process';
import { describeScenario } from './scenario.js';

describeScenario(`the built app (${process.env.E2E_START})`, async (redisUrl) => {
  const entry = process.env.E2E_START;
  if (!entry) throw new Error('Set E2E_START to the built entry point, e.g. dist/main.js.');
  const child = spawn(process.execPath, [entry], { env: { ...process.env, REDIS_URL: redisUrl, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1].replace('[::1]', '127.0.0.1'));
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${out}`)));
  });
  return {
    server: url,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
});
