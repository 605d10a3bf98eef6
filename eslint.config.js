// ESLint flat config (typescript-eslint). `npm run lint` runs it; `npm test` runs it before Jest.
// TypeScript is linted with the type-aware recommended rules: they catch the mistakes this code can
// actually make (floating promises on a Redis call, awaiting a non-promise, unsafe `any` flowing
// out of a reply) that the compiler lets through.
import js from '@eslint/js';
import globals from 'globals';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Build output, installed toolchains, generated Lua modules; and the consumer suite's app
    // sources, which are compiled (and type-checked) inside the apps it generates, by their own
    // TypeScript and tsconfig.
    ignores: ['**/node_modules/**', '**/dist/**', 'compat/**', 'coverage/**', '**/*.generated.ts', '.test-results/**', 'tests/consumer/*/**/*.ts'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // One program for every TypeScript file (sources, tests, bench): tsconfig.test.json maps
      // @tidykv/* to their sources, so linting needs no build.
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Destructuring a property away to omit it (`const { a: _a, ...rest } = o`) is the idiom here.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // Passing on an error caught from elsewhere is fine (only-throw-error allows it the same way);
      // a rejection with a string or a plain object is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // An `async` method without `await` is how this code implements a Promise-returning
      // interface synchronously (the in-memory session repository, Nest handlers, fakes in tests);
      // the floating and misused promise rules catch the mistakes this one would.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
