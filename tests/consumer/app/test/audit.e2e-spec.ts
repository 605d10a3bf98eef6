// @tidykv/audit's library barrel loads in this app's module system (require in the CommonJS apps,
// import in the ESM app).
import { formatBytes, patternOf } from '@tidykv/audit';

describe('@tidykv/audit as a library', () => {
  it('folds a key into its pattern', () => {
    expect(patternOf('user:42:profile')).toBe('user:<num>:profile');
  });

  it('formats sizes as its reports do', () => {
    expect(formatBytes(2048)).toBe('2.0 KiB');
  });
});
