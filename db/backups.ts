/**
 * `plan_db_backups`: one row per backup attempt. A row is inserted when the dump starts and finished
 * when it ends: verified with its sha256 and size, or unverified (failed) with neither. A row with no
 * finished_at is in progress, or its worker died.
 */
import { Queryable } from './connection';
import { tableExists } from './server-info';

export interface BackupRow {
  id: number;
  environment: string;
  location: string;
  sha256: string | null;
  bytes: number | null;
  format: string;
  pgDumpVersion: string | null;
  serverVersion: string | null;
  verified: boolean;
  workflowId: string | null;
  startedAt: string;
  finishedAt: string | null;
}

interface Row {
  id: number;
  environment: string;
  location: string;
  sha256: string | null;
  bytes: number | null;
  format: string;
  pg_dump_version: string | null;
  server_version: string | null;
  verified: boolean;
  workflow_id: string | null;
  started_at: Date;
  finished_at: Date | null;
}

const COLUMNS = `id, environment, location, sha256, bytes, format, pg_dump_version, server_version, verified, workflow_id, started_at, finished_at`;

function fromRow(r: Row): BackupRow {
  return {
    id: r.id,
    environment: r.environment,
    location: r.location,
    sha256: r.sha256,
    bytes: r.bytes,
    format: r.format,
    pgDumpVersion: r.pg_dump_version,
    serverVersion: r.server_version,
    verified: r.verified,
    workflowId: r.workflow_id,
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

/** False before the migrations that create the table have run (a backup taken ahead of the first migrate). */
export function backupsTableExists(db: Queryable): Promise<boolean> {
  return tableExists(db, 'plan_db_backups');
}

export interface NewBackup {
  environment: string;
  location: string;
  pgDumpVersion: string;
  serverVersion: string;
  workflowId: string | null;
  startedAt: Date;
}

export async function insertBackup(db: Queryable, b: NewBackup): Promise<number> {
  const res = await db.query<{ id: number }>(
    `INSERT INTO plan_db_backups (environment, location, format, pg_dump_version, server_version, workflow_id, started_at)
     VALUES ($1, $2, 'custom', $3, $4, $5, $6) RETURNING id`,
    [b.environment, b.location, b.pgDumpVersion, b.serverVersion, b.workflowId, b.startedAt],
  );
  return res.rows[0].id;
}

export type BackupOutcome = { verified: true; sha256: string; bytes: number } | { verified: false };

export async function finishBackup(db: Queryable, id: number, outcome: BackupOutcome): Promise<BackupRow> {
  const res = await db.query<Row>(
    `UPDATE plan_db_backups SET verified = $2, sha256 = $3, bytes = $4, finished_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, outcome.verified, outcome.verified ? outcome.sha256 : null, outcome.verified ? outcome.bytes : null],
  );
  if (!res.rows[0]) throw new Error(`plan_db_backups has no row ${id}`);
  return fromRow(res.rows[0]);
}

export async function getBackup(db: Queryable, id: number): Promise<BackupRow | null> {
  const res = await db.query<Row>(`SELECT ${COLUMNS} FROM plan_db_backups WHERE id = $1`, [id]);
  return res.rows[0] ? fromRow(res.rows[0]) : null;
}

/** The newest verified backup of an environment; null when there is none (or no table yet). */
export async function latestVerifiedBackup(db: Queryable, environment: string): Promise<BackupRow | null> {
  if (!(await backupsTableExists(db))) return null;
  const res = await db.query<Row>(
    `SELECT ${COLUMNS} FROM plan_db_backups WHERE environment = $1 AND verified ORDER BY finished_at DESC, id DESC LIMIT 1`,
    [environment],
  );
  return res.rows[0] ? fromRow(res.rows[0]) : null;
}
