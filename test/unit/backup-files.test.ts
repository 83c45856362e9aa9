import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  backupFileName,
  backupTimestamp,
  createPartialFile,
  publishPartialFile,
  removeStalePartials,
  SCRATCH_DATABASE_PATTERN,
  scratchDatabaseName,
  sha256File,
} from '../../activities/backup-files';

const AT = new Date('2026-11-27T10:30:00.987Z');

describe('backup names', () => {
  test('UTC timestamp without separators or milliseconds', () => {
    expect(backupTimestamp(AT)).toBe('20261127T103000Z');
    expect(backupFileName('production', AT)).toBe('plan_db_production_20261127T103000Z.dump');
  });

  test('scratch database names are lowercase identifiers within 63 bytes', () => {
    expect(scratchDatabaseName('dev', AT)).toBe('plandb_drill_dev_20261127t103000z');
    const longest = scratchDatabaseName(`a${'-b'.repeat(15)}`, AT);
    expect(longest).toMatch(SCRATCH_DATABASE_PATTERN);
    expect(longest.length).toBeLessThanOrEqual(63);
    expect(longest).not.toContain('-');
  });
});

describe('backup files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-files-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the partial file is 0600 from the start, even with a permissive umask', async () => {
    const previous = process.umask(0);
    try {
      const partial = await createPartialFile(path.join(dir, 'plan_db_dev_20261127T103000Z.dump'));
      expect(fs.statSync(partial).mode & 0o777).toBe(0o600);
      expect(path.basename(partial)).toMatch(/^\.plan_db_dev_20261127T103000Z\.dump\.[0-9a-f]{8}\.partial$/);
    } finally {
      process.umask(previous);
    }
  });

  test('publishing never replaces an existing dump', async () => {
    const final = path.join(dir, 'plan_db_dev_20261127T103000Z.dump');
    const first = await createPartialFile(final);
    fs.writeFileSync(first, 'first');
    await publishPartialFile(first, final);
    expect(fs.existsSync(first)).toBe(false);
    const second = await createPartialFile(final);
    await expect(publishPartialFile(second, final)).rejects.toThrow(/EEXIST/);
    expect(fs.readFileSync(final, 'utf8')).toBe('first');
  });

  test('stale partials of this environment are removed; fresh ones and other environments are kept', async () => {
    const stale = await createPartialFile(path.join(dir, 'plan_db_dev_20261127T093000Z.dump'));
    const fresh = await createPartialFile(path.join(dir, 'plan_db_dev_20261127T103000Z.dump'));
    const other = await createPartialFile(path.join(dir, 'plan_db_dev-2_20261127T093000Z.dump'));
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const file of [stale, other]) fs.utimesSync(file, hourAgo, hourAgo);
    expect(await removeStalePartials(dir, 'dev')).toEqual([stale]);
    expect(fs.existsSync(fresh) && fs.existsSync(other)).toBe(true);
  });

  test('sha256File streams the same digest as hashing the content', async () => {
    const file = path.join(dir, 'data');
    const content = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    fs.writeFileSync(file, content);
    expect(await sha256File(file)).toBe(createHash('sha256').update(content).digest('hex'));
  });
});
