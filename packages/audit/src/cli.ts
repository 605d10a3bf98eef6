#!/usr/bin/env node
import { runCli } from './audit.command.js';

// Ctrl-C stops after the current batch (and saves the checkpoint); a second Ctrl-C exits at once.
const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\ntidykv-audit: stopping after the current batch (Ctrl-C again to quit now)...\n');
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});

const code = await runCli(process.argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal });
process.exitCode = code;
