/**
 * Backup and restore activities (SPEC §6): pg_dump -Fc with checksum and TOC verification, optional
 * upload, and pg_restore into a scratch database (drills) or of the PlanRepository tables alone
 * (rollback). pg_dump and pg_restore get the connection through PG* variables only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { escapeIdentifier } from 'pg';
import { getEnvironment, resolveDatabaseUrl } from '../config/environment';
import type { EnvironmentConfig } from '../config/schema';
import { lockEnvironmentForWrite } from '../db/advisory-locks';
import { backupsTableExists, BackupRow, finishBackup, getBackup, insertBackup, latestVerifiedBackup } from '../db/backups';
import { withClient } from '../db/connection';
import { parseToc, selectRepositoryEntries, TocEntry, tocTables } from '../db/dump-toc';
import {
  checkDumpCompatible,
  locatePgTools,
  pgEnvFromUrl,
  PgTools,
  PgToolsError,
  pgToolVersion,
  runPgTool,
} from '../db/pg-tools';
import { serverInfo } from '../db/server-info';
import {
  createPartialFile,
  ensurePrivateDir,
  newBackupPath,
  publishPartialFile,
  removeStalePartials,
  SCRATCH_DATABASE_PATTERN,
  scratchDatabaseName,
  sha256File,
} from './backup-files';
import { s3Settings, s3Target, uploadBackup } from './backup-s3';
import type { ActivityDeps } from './deps';
import { activityContext, withHeartbeat } from './heartbeat';

export interface BackupInput {
  environment: string;
  workflowId?: string;
}

export interface BackupDone {
  skipped: false;
  /** Null when plan_db_backups does not exist yet (a backup taken before the first migrate). */
  backupId: number | null;
  environment: string;
  location: string;
  s3Uri: string | null;
  sha256: string;
  bytes: number;
  format: 'custom';
  pgDumpVersion: string;
  serverVersion: string;
  /** pg_restore --list read the dump (exit 0, entries > 0); an unverifiable dump fails the activity instead. */
  verified: true;
  tocEntries: number;
  startedAt: string;
  finishedAt: string;
}

export interface BackupSkipped {
  skipped: true;
  environment: string;
  reason: string;
}

export type BackupResult = BackupDone | BackupSkipped;

export type RestoreMode = 'repository' | 'scratch';

export interface RestoreInput {
  environment: string;
  /** Default: the environment's latest verified backup. */
  backupId?: number;
  mode: RestoreMode;
  /** Scratch mode only: a `plandb_drill_*` name; default `plandb_drill_<env>_<timestamp>`. */
  targetDatabase?: string;
}

export interface RestoreResult {
  backupId: number;
  location: string;
  mode: RestoreMode;
  database: string;
  tablesRestored: string[];
  seconds: number;
}

/** A plan_db_backups row, its id named `backupId` as in BackupDone and RestoreInput. */
export type BackupSummary = Omit<BackupRow, 'id'> & { backupId: number };

export interface DropScratchResult {
  environment: string;
  database: string;
  dropped: boolean;
}

/** Missing or too-old tools need an install, not a retry. */
async function permanentToolErrors<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw err instanceof PgToolsError ? ApplicationFailure.nonRetryable(err.message, err.name) : err;
  }
}

function fileSize(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}

async function readToc(tools: PgTools, file: string, signal?: AbortSignal): Promise<TocEntry[]> {
  return parseToc(await runPgTool(tools.pgRestore, ['--list', '--verbose', file], { signal }));
}

export function createBackupActivities(deps: ActivityDeps, env: NodeJS.ProcessEnv = process.env) {
  const { logger } = deps;

  function connectionOf(environment: string, envConfig: EnvironmentConfig): Record<string, string> {
    return pgEnvFromUrl(resolveDatabaseUrl(envConfig, environment, env));
  }

  async function backup(input: BackupInput): Promise<BackupResult> {
    const { environment } = input;
    const envConfig = getEnvironment(deps.config, environment);
    if (!envConfig.backup.enabled) {
      return { skipped: true, environment, reason: `backups are disabled (environments.${environment}.backup.enabled is false)` };
    }
    const connection = connectionOf(environment, envConfig);
    const pool = deps.databases.pool(environment);
    const server = await serverInfo(pool);
    const { tools, dumpVersion } = await permanentToolErrors(async () => {
      const located = locatePgTools(env);
      const version = await pgToolVersion(located.pgDump);
      checkDumpCompatible(version.major, server.versionNum, `pg_dump ${version.version} (${located.pgDump})`);
      return { tools: located, dumpVersion: version };
    });
    // Before dumping, so a missing S3 variable fails at once.
    const s3 = envConfig.backup.s3Uri ? { uri: envConfig.backup.s3Uri, settings: s3Settings(envConfig.backup, environment, env) } : null;

    const dir = path.resolve(envConfig.backup.dir);
    await ensurePrivateDir(dir);
    for (const file of await removeStalePartials(dir, environment)) logger.warn({ event: 'backup_stale_partial_removed', environment, file });

    const { startedAt, location } = await newBackupPath(dir, environment);
    const workflowId = input.workflowId ?? activityContext()?.info.workflowExecution?.workflowId ?? null;
    const backupId = (await backupsTableExists(pool))
      ? await insertBackup(pool, { environment, location, pgDumpVersion: dumpVersion.version, serverVersion: server.version, workflowId, startedAt })
      : null;
    const signal = activityContext()?.cancellationSignal;
    const partial = await createPartialFile(location);
    let published = false;
    try {
      await withHeartbeat(
        () => ({ phase: 'dump', bytes: fileSize(partial) }),
        () => runPgTool(tools.pgDump, ['--format=custom', `--file=${partial}`], { connection, signal, env }),
      );
      const bytes = fs.statSync(partial).size;
      const sha256 = await withHeartbeat(() => ({ phase: 'sha256', bytes }), () => sha256File(partial));
      const toc = await readToc(tools, partial, signal);
      if (toc.length === 0) throw ApplicationFailure.retryable(`pg_restore --list found no entries in the dump of ${environment}`, 'BackupNotVerified');
      await publishPartialFile(partial, location);
      published = true;

      let s3Uri: string | null = null;
      if (s3) {
        const target = s3Target(s3.uri, path.basename(location));
        let uploaded = 0;
        await withHeartbeat(
          () => ({ phase: 'upload', bytes, uploaded }),
          () => uploadBackup({ settings: s3.settings, target, file: location, sha256, bytes, onProgress: (n) => (uploaded = n) }),
        );
        s3Uri = target.uri;
      }

      const row = backupId === null ? null : await finishBackup(pool, backupId, { verified: true, sha256, bytes });
      const result: BackupDone = {
        skipped: false,
        backupId,
        environment,
        location,
        s3Uri,
        sha256,
        bytes,
        format: 'custom',
        pgDumpVersion: dumpVersion.version,
        serverVersion: server.version,
        verified: true,
        tocEntries: toc.length,
        startedAt: startedAt.toISOString(),
        finishedAt: row?.finishedAt ?? new Date().toISOString(),
      };
      logger.info({ event: 'backup_finished', ...result });
      return result;
    } catch (err) {
      await fs.promises.rm(partial, { force: true });
      if (published) await fs.promises.rm(location, { force: true });
      if (backupId !== null) await finishBackup(pool, backupId, { verified: false }).catch(() => undefined);
      logger.warn({ event: 'backup_failed', environment, backupId, error: err instanceof Error ? err.message : String(err) });
      throw err;
    }
  }

  /** The requested (or latest verified) backup, its file present and unchanged since it was taken. */
  async function checkedBackup(environment: string, backupId: number | undefined): Promise<BackupRow> {
    const pool = deps.databases.pool(environment);
    let row: BackupRow | null;
    if (backupId === undefined) {
      row = await latestVerifiedBackup(pool, environment);
      if (!row) throw ApplicationFailure.nonRetryable(`${environment} has no verified backup to restore`, 'NoBackup');
    } else {
      row = (await backupsTableExists(pool)) ? await getBackup(pool, backupId) : null;
      if (!row || row.environment !== environment) {
        throw ApplicationFailure.nonRetryable(`${environment} has no backup ${backupId}`, 'NoBackup');
      }
      if (!row.verified || !row.sha256) {
        throw ApplicationFailure.nonRetryable(`backup ${backupId} of ${environment} was never verified: it cannot be restored`, 'BackupNotVerified');
      }
    }
    if (!fs.existsSync(row.location)) {
      throw ApplicationFailure.nonRetryable(`backup ${row.id}: file ${row.location} is missing`, 'BackupFileMissing');
    }
    const actual = await withHeartbeat(() => ({ phase: 'sha256', backupId: row.id }), () => sha256File(row.location));
    if (actual !== row.sha256) {
      throw ApplicationFailure.nonRetryable(
        `backup ${row.id}: ${row.location} has sha256 ${actual}, but ${row.sha256} was recorded when it was taken: the file changed, refusing to restore it`,
        'BackupChecksumMismatch',
      );
    }
    return row;
  }

  /** The whole dump into a fresh database on the same server; dropped again if the restore fails. */
  async function restoreScratch(environment: string, row: BackupRow, tools: PgTools, connection: Record<string, string>, target: string | undefined) {
    const database = target ?? scratchDatabaseName(environment, new Date());
    const toc = await readToc(tools, row.location, activityContext()?.cancellationSignal);
    const pool = deps.databases.pool(environment);
    // A scratch database is disposable: a retry replaces what an earlier attempt left.
    await pool.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(database)} WITH (FORCE)`);
    await pool.query(`CREATE DATABASE ${escapeIdentifier(database)} TEMPLATE template0`);
    try {
      await withHeartbeat(
        () => ({ phase: 'restore', mode: 'scratch', database }),
        () =>
          runPgTool(tools.pgRestore, ['--no-owner', '--exit-on-error', `--dbname=${database}`, row.location], {
            connection: { ...connection, PGDATABASE: database },
            signal: activityContext()?.cancellationSignal,
            env,
          }),
      );
    } catch (err) {
      await pool.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(database)} WITH (FORCE)`).catch(() => undefined);
      throw err;
    }
    return { database, tablesRestored: tocTables(toc) };
  }

  /**
   * Only the PlanRepository tables (definitions, data, indexes, constraints), in one transaction,
   * while holding the environment's write lock so no backfill batch interleaves; plan_artifacts and
   * the operations tables (the run history) are left as they are.
   */
  async function restoreRepository(environment: string, row: BackupRow, tools: PgTools, connection: Record<string, string>) {
    const signal = activityContext()?.cancellationSignal;
    const selection = selectRepositoryEntries(await readToc(tools, row.location, signal));
    if (selection.missing.length) {
      throw ApplicationFailure.nonRetryable(
        `backup ${row.id} has no ${selection.missing.join(', ')} table: it was taken before the PlanRepository existed ` +
          `(to undo the repository, use rollback mode clear-repository)`,
        'NoRepositoryInBackup',
      );
    }
    const listDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'plandb-restore-'));
    const listFile = path.join(listDir, 'repository.list');
    try {
      await fs.promises.writeFile(listFile, selection.entries.map((e) => `${e.line}\n`).join(''));
      await withClient(deps.databases.pool(environment), async (client) => {
        await client.query('BEGIN');
        try {
          await lockEnvironmentForWrite(client, environment);
          await withHeartbeat(
            () => ({ phase: 'restore', mode: 'repository', database: connection.PGDATABASE }),
            () =>
              runPgTool(
                tools.pgRestore,
                [
                  '--clean',
                  '--if-exists',
                  '--single-transaction',
                  '--no-owner',
                  '--exit-on-error',
                  `--use-list=${listFile}`,
                  `--dbname=${connection.PGDATABASE}`,
                  row.location,
                ],
                { connection, signal, env },
              ),
          );
        } finally {
          // Nothing was written on this connection: ending the transaction just releases the lock.
          await client.query('COMMIT');
        }
      });
    } finally {
      await fs.promises.rm(listDir, { recursive: true, force: true });
    }
    return { database: connection.PGDATABASE, tablesRestored: tocTables(selection.entries) };
  }

  async function restoreBackup(input: RestoreInput): Promise<RestoreResult> {
    const { environment } = input;
    const envConfig = getEnvironment(deps.config, environment);
    if (input.mode !== 'repository' && input.mode !== 'scratch') {
      throw ApplicationFailure.nonRetryable(`mode must be "repository" or "scratch"`, 'InvalidRestoreMode');
    }
    if (input.mode === 'repository' && input.targetDatabase !== undefined) {
      throw ApplicationFailure.nonRetryable(`targetDatabase is for mode "scratch" only`, 'InvalidRestoreMode');
    }
    if (input.targetDatabase !== undefined && !SCRATCH_DATABASE_PATTERN.test(input.targetDatabase)) {
      throw ApplicationFailure.nonRetryable(`targetDatabase must match ${SCRATCH_DATABASE_PATTERN}`, 'InvalidScratchDatabase');
    }
    const connection = connectionOf(environment, envConfig);
    const tools = await permanentToolErrors(() => locatePgTools(env));
    const started = Date.now();
    const row = await checkedBackup(environment, input.backupId);
    const restored =
      input.mode === 'scratch'
        ? await restoreScratch(environment, row, tools, connection, input.targetDatabase)
        : await restoreRepository(environment, row, tools, connection);
    const result: RestoreResult = {
      backupId: row.id,
      location: row.location,
      mode: input.mode,
      ...restored,
      seconds: (Date.now() - started) / 1000,
    };
    logger.info({ event: 'backup_restored', environment, ...result });
    return result;
  }

  async function latestBackup(input: { environment: string }): Promise<BackupSummary | null> {
    getEnvironment(deps.config, input.environment);
    const row = await latestVerifiedBackup(deps.databases.pool(input.environment), input.environment);
    if (!row) return null;
    const { id, ...rest } = row;
    return { backupId: id, ...rest };
  }

  async function dropScratchDatabase(input: { environment: string; database: string }): Promise<DropScratchResult> {
    const envConfig = getEnvironment(deps.config, input.environment);
    if (!SCRATCH_DATABASE_PATTERN.test(input.database) || input.database === connectionOf(input.environment, envConfig).PGDATABASE) {
      throw ApplicationFailure.nonRetryable(
        `refusing to drop ${JSON.stringify(input.database)}: only scratch databases matching ${SCRATCH_DATABASE_PATTERN} are dropped`,
        'NotAScratchDatabase',
      );
    }
    const pool = deps.databases.pool(input.environment);
    const exists = await pool.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [input.database]);
    await pool.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(input.database)} WITH (FORCE)`);
    logger.info({ event: 'scratch_database_dropped', environment: input.environment, database: input.database, existed: exists.rowCount === 1 });
    return { environment: input.environment, database: input.database, dropped: exists.rowCount === 1 };
  }

  return { backup, restoreBackup, latestBackup, dropScratchDatabase };
}
