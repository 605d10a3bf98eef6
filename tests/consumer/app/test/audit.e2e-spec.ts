// @tidykv/audit's library barrel and its `./cli` subpath load in this app's module system (require
// in the CommonJS apps, import in the ESM app).
import { formatBytes, patternOf } from '@tidykv/audit';
import { EXIT_CODES, parseIndexRule } from '@tidykv/audit/cli';

describe('@tidykv/audit as a library', () => {
  it('folds a key into its pattern', () => {
    expect(patternOf('user:42:profile')).toBe('user:<num>:profile');
  });

  it('formats sizes as its reports do', () => {
    expect(formatBytes(2048)).toBe('2.0 KiB');
  });
});

describe('@tidykv/audit/cli', () => {
  it('exposes the exit codes of tidykv-audit', () => {
    expect(EXIT_CODES).toEqual({ clean: 0, findings: 1, error: 2 });
  });

  it('parses an --index-rule as the CLI does', () => {
    expect(parseIndexRule('byUser=app:idx:*=>app:sess:{$member}')).toEqual({ name: 'byUser', match: 'app:idx:*', target: 'app:sess:{$member}' });
  });
});
