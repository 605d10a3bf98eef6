// `@tidykv/audit/cli`: the command-line program as a library, for wrapping `tidykv-audit` in another
// tool or driving it from a test. The package root (`@tidykv/audit`) is the auditing library only.
export { runCli, buildProgram, parseIndexRule, EXIT_CODES } from '../audit.command.js';
export type { CliIo } from '../audit.command.js';
export { connectionOptionsFromFlags, CLI_COMMAND_TIMEOUT_MS } from '../connection.flags.js';
export type { ConnectionFlags } from '../connection.flags.js';
