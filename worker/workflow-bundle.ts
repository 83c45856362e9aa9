import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../platform/project-root';

/** The workflows entry module, as source (tests, `plandb dev` from source) or compiled (dist). */
export function workflowsEntry(): string {
  return require.resolve(path.join(__dirname, '..', 'workflows'));
}

/** Where `npm run build` writes the prebuilt bundle that production workers load. */
export function prebuiltBundlePath(): string {
  return path.join(projectRoot(), 'dist', 'workflow-bundle.js');
}

/** A prebuilt bundle when one exists (and `PLANDB_WORKFLOW_BUNDLE` may name another), else none. */
export function findPrebuiltBundle(env = process.env): string | null {
  const candidate = env.PLANDB_WORKFLOW_BUNDLE ?? prebuiltBundlePath();
  return fs.existsSync(candidate) ? candidate : null;
}
