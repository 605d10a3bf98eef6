// `nest build --webpack` passes its default config here. Two changes:
// - @tidykv/* are bundled into dist/main.js, with their own dependencies: the packages must work
//   bundled, with nothing read from their folders at run time. Their dependencies go in too,
//   because a bundled module's `require` of an external resolves from dist/, that is from the
//   app's top-level node_modules, not from the nested copy npm may have installed for tidykv
//   (e.g. cookie 1.x for @tidykv/session beside Express's cookie 0.7). Everything else stays
//   external, as in Nest's default.
// - relative imports written with .js (as ESM TypeScript needs) resolve to the .ts sources.
const nodeExternals = require('webpack-node-externals');

const tidykvDeps = ['core', 'session', 'repository', 'audit'].flatMap((p) => Object.keys(require(`@tidykv/${p}/package.json`).dependencies ?? {}));
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

module.exports = (options) => ({
  ...options,
  externals: [nodeExternals({ allowlist: [/^@tidykv\//, ...tidykvDeps.map((d) => new RegExp(`^${escape(d)}(/|$)`))] })],
  resolve: { ...options.resolve, extensionAlias: { '.js': ['.ts', '.js'] } },
});
