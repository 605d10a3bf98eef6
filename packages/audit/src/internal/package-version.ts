/**
 * The package's version, for `tidykv-audit --version`. A constant rather than a read of
 * package.json at run time: the same source is compiled to ES modules and to CommonJS, and neither
 * `import.meta.url` nor `__dirname` exists in both. package-version.spec.ts fails when this and
 * package.json disagree, so a version bump cannot forget it.
 */
export const PACKAGE_VERSION = '0.1.0';
