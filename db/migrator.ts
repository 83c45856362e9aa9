/**
 * Wraps drizzle's migrator, which takes no lock, never compares the hashes it stores and decides what
 * is pending by the newest applied timestamp only. Here: one connection holds a session-level advisory
 * lock for the whole upgrade, and status/drift are computed from the journal and the stored hashes.
 */
import path from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import fs from 'node:fs';
import pg from 'pg';
import { projectRoot } from '../platform/project-root';
import { Queryable } from './connection';

export const MIGRATIONS_SCHEMA = 'drizzle';
export const MIGRATIONS_TABLE = '__drizzle_migrations';
/** pg_advisory_lock key for schema migrations (any bigint unique to plandb). */
export const MIGRATION_LOCK_KEY = 0x706c616e6462; // "plandb"

export function migrationsFolder(): string {
  return path.join(projectRoot(), 'db', 'migrations');
}

export interface MigrationFile {
  name: string;
  hash: string;
  /** The journal's `when`: drizzle orders and identifies migrations by it. */
  createdAtMillis: number;
}

export interface AppliedMigration {
  name: string | null;
  hash: string;
  createdAtMillis: number;
}

export type DriftKind = 'changed' | 'skipped' | 'unknown';
export interface Drift {
  kind: DriftKind;
  name: string | null;
  message: string;
}

export interface MigrationStatus {
  files: MigrationFile[];
  applied: AppliedMigration[];
  pending: MigrationFile[];
  drift: Drift[];
  /** Name of the newest migration file (what "head" means). */
  head: string | null;
  /** Name of the newest applied migration. */
  current: string | null;
  atHead: boolean;
}

export class MigrationDriftError extends Error {
  constructor(readonly drift: Drift[]) {
    super(`migration drift, upgrade refused:\n${drift.map((d) => `  - ${d.message}`).join('\n')}`);
    this.name = 'MigrationDriftError';
  }
}

export function readMigrationJournal(folder = migrationsFolder()): MigrationFile[] {
  const journal = JSON.parse(fs.readFileSync(path.join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string; when: number }[];
  };
  const files = readMigrationFiles({ migrationsFolder: folder });
  return journal.entries.map((entry, i) => ({ name: entry.tag, hash: files[i].hash, createdAtMillis: entry.when }));
}

async function readApplied(db: Queryable): Promise<{ hash: string; createdAtMillis: number }[]> {
  const exists = await db.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [
    `${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}`,
  ]);
  if (!exists.rows[0].present) return [];
  const res = await db.query<{ hash: string; created_at: string }>(
    `SELECT hash, created_at FROM "${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}" ORDER BY created_at, id`,
  );
  return res.rows.map((r) => ({ hash: r.hash, createdAtMillis: Number(r.created_at) }));
}

/** Pure comparison of the migration files with what the database recorded as applied. */
export function compareMigrations(files: MigrationFile[], appliedRows: { hash: string; createdAtMillis: number }[]): MigrationStatus {
  const byMillis = new Map(files.map((f) => [f.createdAtMillis, f]));
  const appliedMillis = new Set(appliedRows.map((r) => r.createdAtMillis));
  const newestApplied = appliedRows.reduce((max, r) => Math.max(max, r.createdAtMillis), -Infinity);
  const drift: Drift[] = [];

  const applied = appliedRows.map((row) => {
    const file = byMillis.get(row.createdAtMillis);
    if (!file) {
      drift.push({
        kind: 'unknown',
        name: null,
        message: `an applied migration (created_at ${row.createdAtMillis}, hash ${row.hash.slice(0, 12)}) has no file in db/migrations: the database is ahead of this code`,
      });
    } else if (file.hash !== row.hash) {
      drift.push({
        kind: 'changed',
        name: file.name,
        message: `${file.name} was edited after it was applied (applied hash ${row.hash.slice(0, 12)}, file hash ${file.hash.slice(0, 12)})`,
      });
    }
    return { name: file?.name ?? null, hash: row.hash, createdAtMillis: row.createdAtMillis };
  });

  const pending: MigrationFile[] = [];
  for (const file of files) {
    if (appliedMillis.has(file.createdAtMillis)) continue;
    if (file.createdAtMillis <= newestApplied) {
      drift.push({
        kind: 'skipped',
        name: file.name,
        message: `${file.name} is older than the newest applied migration but was never applied (drizzle would skip it)`,
      });
    } else {
      pending.push(file);
    }
  }

  const head = files.length ? files[files.length - 1].name : null;
  const current = applied.length ? applied[applied.length - 1].name : null;
  return { files, applied, pending, drift, head, current, atHead: pending.length === 0 && drift.length === 0 };
}

export async function migrationStatus(db: Queryable, folder = migrationsFolder()): Promise<MigrationStatus> {
  return compareMigrations(readMigrationJournal(folder), await readApplied(db));
}

export interface UpgradeResult {
  applied: string[];
  head: string | null;
  status: MigrationStatus;
}

/**
 * Applies pending migrations to head. Holds the advisory lock on this one client for the whole run, so
 * a concurrent upgrade waits and then finds nothing pending. Drift stops it before anything is applied.
 */
export async function upgrade(
  client: pg.PoolClient | pg.Client,
  opts: { folder?: string; lockTimeoutMs?: number } = {},
): Promise<UpgradeResult> {
  const folder = opts.folder ?? migrationsFolder();
  await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(opts.lockTimeoutMs ?? 300_000))}`);
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    const before = await migrationStatus(client, folder);
    if (before.drift.length) throw new MigrationDriftError(before.drift);
    if (before.pending.length) {
      await migrate(drizzle(client), {
        migrationsFolder: folder,
        migrationsSchema: MIGRATIONS_SCHEMA,
        migrationsTable: MIGRATIONS_TABLE,
      });
    }
    const status = await migrationStatus(client, folder);
    return { applied: before.pending.map((m) => m.name), head: status.head, status };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.query('RESET lock_timeout').catch(() => undefined);
  }
}
