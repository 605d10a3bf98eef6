// `nest build --webpack` passes its default config here. Two changes:
// - @tidykv/* are bundled into dist/main.js (other dependencies stay external, as Nest's default
//   has them): the packages must work bundled, with nothing read from their folders at run time.
// - relative imports written with .js (as ESM TypeScript needs) resolve to the .ts sources.
const nodeExternals = require('webpack-node-externals');

module.exports = (options) => ({
  ...options,
  externals: [nodeExternals({ allowlist: [/^@tidykv\//] })],
  resolve: { ...options.resolve, extensionAlias: { '.js': ['.ts', '.js'] } },
});
