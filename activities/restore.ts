/**
 * Restore activities (SPEC §6): pg_restore of a verified backup into a scratch database (drills), or
 * of the PlanRepository tables alone (rollback), and dropping a drill's scratch database. pg_restore
 * gets the connection through PG* variables only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { getEnvironment } from '../config/environment';
import { whileHoldingWriteLock } from '../db/advisory-locks';
import { backupsTableExists, BackupRow, getBackup, latestVerifiedBackup } from '../db/backups';
import { withClient } from '../db/connection';
import { selectRepositoryEntries, tocTables } from '../db/dump-toc';
import { locatePgTools, PgTools, runPgTool } from '../db/pg-tools';
import { dropDatabase, recreateDatabase } from '../db/scratch-databases';
import { SCRATCH_DATABASE_PATTERN, scratchDatabaseName, sha256File } from './backup-files';
import { refreshRepositoryRowsAfter } from './capacity';
import type { ActivityDeps } from './deps';
import { activityContext, withHeartbeat } from './heartbeat';
import { connectionOf, permanentToolErrors, readToc } from './pg-dump-steps';

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

export interface DropScratchResult {
  environment: string;
  database: string;
  dropped: boolean;
}

export function createRestoreActivities(deps: ActivityDeps, env: NodeJS.ProcessEnv = process.env) {
  const { logger } = deps;

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
    await recreateDatabase(pool, database);
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
      await dropDatabase(pool, database).catch(() => undefined);
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
      await withClient(deps.databases.pool(environment), (client) =>
        whileHoldingWriteLock(client, environment, () =>
          withHeartbeat(
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
          ),
        ),
      );
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
    const connection = connectionOf(environment, envConfig, env);
    const tools = await permanentToolErrors(() => locatePgTools(env));
    const started = Date.now();
    const row = await checkedBackup(environment, input.backupId);
    const restored =
      input.mode === 'scratch'
        ? await restoreScratch(environment, row, tools, connection, input.targetDatabase)
        : await restoreRepository(environment, row, tools, connection);
    if (input.mode === 'repository') await refreshRepositoryRowsAfter(deps, environment, 'restore');
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

  async function dropScratchDatabase(input: { environment: string; database: string }): Promise<DropScratchResult> {
    const envConfig = getEnvironment(deps.config, input.environment);
    if (!SCRATCH_DATABASE_PATTERN.test(input.database) || input.database === connectionOf(input.environment, envConfig, env).PGDATABASE) {
      throw ApplicationFailure.nonRetryable(
        `refusing to drop ${JSON.stringify(input.database)}: only scratch databases matching ${SCRATCH_DATABASE_PATTERN} are dropped`,
        'NotAScratchDatabase',
      );
    }
    const dropped = await dropDatabase(deps.databases.pool(input.environment), input.database);
    logger.info({ event: 'scratch_database_dropped', environment: input.environment, database: input.database, existed: dropped });
    return { environment: input.environment, database: input.database, dropped };
  }

  return { restoreBackup, dropScratchDatabase };
}
