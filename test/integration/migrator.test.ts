import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  MIGRATION_LOCK_KEY,
  MigrationDriftError,
  migrationStatus,
  migrationsFolder,
  readMigrationJournal,
  upgrade,
} from '../../db/migrator';
import { REPOSITORY_TABLES } from '../../db/repository-stats';
import { withClient } from '../../db/connection';
import { getMaintenance, setMaintenanceFlag } from '../../db/maintenance';
import { createTestDatabase, TestDatabase } from '../support/database';

/** A copy of db/migrations plus one extra migration, so tests can edit files freely. */
function copyMigrations(extra?: { tag: string; sql: string; when: number }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-migrations-'));
  fs.cpSync(migrationsFolder(), dir, { recursive: true });
  if (extra) {
    const journalPath = path.join(dir, 'meta', '_journal.json');
    const journal = JSON.parse(fs.readFileSync(journalPath, 'utf8'));
    journal.entries.push({ idx: journal.entries.length, version: '7', when: extra.when, tag: extra.tag, breakpoints: true });
    journal.entries.sort((a: { when: number }, b: { when: number }) => a.when - b.when);
    fs.writeFileSync(journalPath, JSON.stringify(journal));
    fs.writeFileSync(path.join(dir, `${extra.tag}.sql`), extra.sql);
  }
  return dir;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function appliedRows(db: TestDatabase): Promise<number> {
  const res = await db.pool.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
  return res.rows[0].n;
}

describe('wrapped drizzle migrator', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  test('upgrade on an empty database reaches head; a second upgrade applies nothing', async () => {
    const files = readMigrationJournal();
    const before = await migrationStatus(db.pool);
    expect(before.applied).toEqual([]);
    expect(before.pending.map((m) => m.name)).toEqual(files.map((f) => f.name));
    expect(before.atHead).toBe(false);

    const client = await db.pool.connect();
    try {
      const first = await upgrade(client);
      expect(first.applied).toEqual(files.map((f) => f.name));
      expect(first.status.atHead).toBe(true);
      expect(first.head).toBe(files[files.length - 1].name);

      const second = await upgrade(client);
      expect(second.applied).toEqual([]);
      expect(second.status.atHead).toBe(true);
    } finally {
      client.release();
    }
    expect(await appliedRows(db)).toBe(files.length);
    const tables = await db.pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
    const names = tables.rows.map((r) => r.tablename);
    for (const t of [
      ...REPOSITORY_TABLES,
      'plan_backfill_runs',
      'plan_backfill_errors',
      'plan_db_maintenance',
      'plan_db_backups',
      'plan_db_trim_runs',
      'plan_migration_runs',
    ]) {
      expect(names).toContain(t);
    }
    // The legacy table belongs to the application: our migrations never create it.
    expect(names).not.toContain('plan_artifacts');
    const status = await migrationStatus(db.pool);
    expect(status.applied.map((a) => [a.name, a.hash])).toEqual(files.map((f) => [f.name, f.hash]));
  });

  test('two concurrent upgrades on two connections apply each migration once', async () => {
    const clients = [1, 2].map(() => new pg.Client({ connectionString: db.url }));
    await Promise.all(clients.map((c) => c.connect()));
    // Hold the lock first so both upgrades are provably waiting on it at the same time.
    const holder = await db.pool.connect();
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const running = clients.map((c) => upgrade(c));
      await waitFor(async () => {
        const res = await db.pool.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
        return res.rows[0].n === 2;
      });
      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      const results = await Promise.all(running);
      const files = readMigrationJournal();
      // Exactly one upgrade applied everything; the others waited on the lock and found nothing pending.
      expect(results.filter((r) => r.applied.length > 0)).toHaveLength(1);
      expect(results.flatMap((r) => r.applied).sort()).toEqual(files.map((f) => f.name).sort());
      expect(results.every((r) => r.status.atHead)).toBe(true);
      expect(await appliedRows(db)).toBe(files.length);
    } finally {
      holder.release();
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  test('an applied migration edited afterwards is drift, and upgrade refuses', async () => {
    const folder = copyMigrations({ tag: '9000_extra', sql: 'CREATE TABLE drift_probe (id int);', when: 4_102_444_800_000 });
    const client = await db.pool.connect();
    try {
      await upgrade(client, { folder });
      fs.appendFileSync(path.join(folder, '9000_extra.sql'), '\n-- edited after it was applied\n');
      const status = await migrationStatus(client, folder);
      expect(status.drift).toEqual([expect.objectContaining({ kind: 'changed', name: '9000_extra' })]);
      expect(status.atHead).toBe(false);
      await expect(upgrade(client, { folder })).rejects.toThrow(MigrationDriftError);
      await expect(upgrade(client, { folder })).rejects.toThrow(/9000_extra was edited after it was applied/);
    } finally {
      client.release();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a migration file older than the newest applied one, never applied, is drift that stops upgrade', async () => {
    const late = copyMigrations({ tag: '9000_late', sql: 'CREATE TABLE late_probe (id int);', when: 4_102_444_800_000 });
    const client = await db.pool.connect();
    try {
      await upgrade(client, { folder: late });
      // A branch merged afterwards brings a migration dated before the newest applied one.
      const merged = copyMigrations({ tag: '0500_merged', sql: 'CREATE TABLE merged_probe (id int);', when: 4_000_000_000_000 });
      fs.cpSync(path.join(late, '9000_late.sql'), path.join(merged, '9000_late.sql'));
      const journalPath = path.join(merged, 'meta', '_journal.json');
      const journal = JSON.parse(fs.readFileSync(journalPath, 'utf8'));
      journal.entries.push({ idx: journal.entries.length, version: '7', when: 4_102_444_800_000, tag: '9000_late', breakpoints: true });
      fs.writeFileSync(journalPath, JSON.stringify(journal));

      const status = await migrationStatus(client, merged);
      expect(status.drift).toEqual([expect.objectContaining({ kind: 'skipped', name: '0500_merged' })]);
      await expect(upgrade(client, { folder: merged })).rejects.toThrow(/0500_merged is older than the newest applied migration/);
      const probe = await client.query(`SELECT to_regclass('public.merged_probe') AS t`);
      expect(probe.rows[0].t).toBeNull();
      fs.rmSync(merged, { recursive: true, force: true });
    } finally {
      client.release();
      fs.rmSync(late, { recursive: true, force: true });
    }
  });

  test('an applied migration with no file (database ahead of the code) is drift', async () => {
    const extra = copyMigrations({ tag: '9000_future', sql: 'SELECT 1;', when: 4_102_444_800_000 });
    const client = await db.pool.connect();
    try {
      await upgrade(client, { folder: extra });
      const status = await migrationStatus(client);
      expect(status.drift).toEqual([expect.objectContaining({ kind: 'unknown' })]);
      await expect(upgrade(client)).rejects.toThrow(/has no file in db\/migrations/);
    } finally {
      client.release();
      fs.rmSync(extra, { recursive: true, force: true });
    }
  });
});

describe('the maintenance switch before the first migration', () => {
  test('has no table of its own: turning maintenance on asks for the migrations, lifting it is a no-op', async () => {
    const db = await createTestDatabase();
    try {
      await expect(setMaintenanceFlag(db.pool, { enabled: true, reason: 'window', actor: 'test' })).rejects.toThrow(
        'plan_db_maintenance does not exist: apply the migrations first',
      );
      expect((await setMaintenanceFlag(db.pool, { enabled: false, reason: 'stop', actor: 'test' })).changed).toBe(false);
      expect(await getMaintenance(db.pool)).toEqual(expect.objectContaining({ enabled: false, since: null }));
      expect((await db.pool.query(`SELECT to_regclass('plan_db_maintenance') AS t`)).rows[0].t).toBeNull();
      await withClient(db.pool, (c) => upgrade(c));
      const on = await setMaintenanceFlag(db.pool, { enabled: true, reason: 'window', actor: 'test', ownerWorkflowId: 'wf-1' });
      expect(on.state).toEqual(expect.objectContaining({ enabled: true, ownerWorkflowId: 'wf-1' }));
    } finally {
      await db.drop();
    }
  });
});
