/** Bottom layer (imports nothing of plandb's): files this process may run. */
import fs from 'node:fs';

/** A regular file this process may execute. */
export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
