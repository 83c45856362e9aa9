import path from 'node:path';
import { projectRoot } from '../platform/project-root';

/** Local state of `plandb dev` and the test runtime (git-ignored). */
export function stateDir(): string {
  return path.join(projectRoot(), '.plandb');
}
