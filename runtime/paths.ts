import fs from 'node:fs';
import path from 'node:path';

/** The folder holding plandb's package.json, found from this file whether it runs from source or dist/. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'plandb') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find plandb's package.json above ${__dirname}`);
    dir = parent;
  }
}

/** Local state of `plandb dev` and the test runtime (git-ignored). */
export function stateDir(): string {
  return path.join(projectRoot(), '.plandb');
}
