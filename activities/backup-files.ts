/**
 * Backup files on disk: their names, a private directory and a partial file that is never readable
 * by others, publishing it under its final name, and the streamed sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** `20261127T103000Z`: UTC, sortable, safe in file and database names. */
export function backupTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function backupFileName(environment: string, at: Date): string {
  return `plan_db_${environment}_${backupTimestamp(at)}.dump`;
}

/**
 * The start time and path of a new backup. Names have one-second resolution, so a second backup
 * within the same second waits for the next one rather than taking another name format.
 */
export async function newBackupPath(dir: string, environment: string): Promise<{ startedAt: Date; location: string }> {
  for (;;) {
    const startedAt = new Date();
    const location = path.join(dir, backupFileName(environment, startedAt));
    if (!fs.existsSync(location)) return { startedAt, location };
    await new Promise((resolve) => setTimeout(resolve, 1_000 - startedAt.getMilliseconds()));
  }
}

export const SCRATCH_DATABASE_PREFIX = 'plandb_drill_';
/** Lowercase and no quoting needed; 63 bytes is PostgreSQL's identifier limit. */
export const SCRATCH_DATABASE_PATTERN = /^plandb_drill_[a-z0-9_]{1,50}$/;

export function scratchDatabaseName(environment: string, at: Date): string {
  return `${SCRATCH_DATABASE_PREFIX}${environment.replace(/-/g, '_')}_${backupTimestamp(at).toLowerCase()}`;
}

const PARTIAL_SUFFIX = '.partial';
/** Partial files older than this were left by a killed worker; a live pg_dump keeps writing. */
const STALE_PARTIAL_MS = 30 * 60_000;

/** Creates the directory with mode 0700 (an existing one is left as its owner set it). */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * An empty 0600 file for pg_dump to write into, next to where the dump will be published. It exists
 * with its final mode before any byte is written, so the dump is never readable by others.
 */
export async function createPartialFile(finalPath: string): Promise<string> {
  const partial = path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${randomBytes(4).toString('hex')}${PARTIAL_SUFFIX}`);
  const handle = await fs.promises.open(partial, 'wx', 0o600);
  try {
    // The umask can only remove bits from 0600, but say it explicitly.
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
  return partial;
}

/** Gives the finished dump its final name; link() refuses to replace an existing file, unlike rename(). */
export async function publishPartialFile(partial: string, finalPath: string): Promise<void> {
  await fs.promises.link(partial, finalPath);
  await fs.promises.unlink(partial);
}

/** Removes partial files of this environment that a killed attempt left behind. */
export async function removeStalePartials(dir: string, environment: string, now = Date.now()): Promise<string[]> {
  const prefix = `.plan_db_${environment}_`;
  const removed: string[] = [];
  for (const name of await fs.promises.readdir(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith(PARTIAL_SUFFIX)) continue;
    const file = path.join(dir, name);
    const stat = await fs.promises.stat(file).catch(() => null);
    if (stat && now - stat.mtimeMs > STALE_PARTIAL_MS) {
      await fs.promises.rm(file, { force: true });
      removed.push(file);
    }
  }
  return removed;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
