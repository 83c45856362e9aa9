/** Bottom layer (imports nothing of plandb's): where plandb's own files are. */
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
