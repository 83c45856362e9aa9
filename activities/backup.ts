/**
 * The backup activity (SPEC §6): pg_dump -Fc with checksum and TOC verification, and optional upload;
 * and the lookup of an environment's latest verified backup. Restoring one is activities/restore.ts.
 * pg_dump gets the connection through PG* variables only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { getEnvironment } from '../config/environment';
import { backupsTableExists, BackupRow, finishBackup, insertBackup, latestVerifiedBackup } from '../db/backups';
import { checkDumpCompatible, locatePgTools, pgToolVersion, runPgTool } from '../db/pg-tools';
import { serverInfo } from '../db/server-info';
import { createPartialFile, ensurePrivateDir, newBackupPath, publishPartialFile, removeStalePartials, sha256File } from './backup-files';
import { s3Settings, s3Target, uploadBackup } from './backup-s3';
import type { ActivityDeps } from './deps';
import { activityContext, withHeartbeat } from './heartbeat';
import { connectionOf, permanentToolErrors, readToc } from './pg-dump-steps';

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

/** A plan_db_backups row, its id named `backupId` as in BackupDone and RestoreInput. */
export type BackupSummary = Omit<BackupRow, 'id'> & { backupId: number };

function fileSize(file: string): number | null {
  try {
    return fs.statSync(file).size;
  } catch {
    return null;
  }
}

export function createBackupActivities(deps: ActivityDeps, env: NodeJS.ProcessEnv = process.env) {
  const { logger } = deps;

  async function backup(input: BackupInput): Promise<BackupResult> {
    const { environment } = input;
    const envConfig = getEnvironment(deps.config, environment);
    if (!envConfig.backup.enabled) {
      return { skipped: true, environment, reason: `backups are disabled (environments.${environment}.backup.enabled is false)` };
    }
    const connection = connectionOf(environment, envConfig, env);
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

  async function latestBackup(input: { environment: string }): Promise<BackupSummary | null> {
    getEnvironment(deps.config, input.environment);
    const row = await latestVerifiedBackup(deps.databases.pool(input.environment), input.environment);
    if (!row) return null;
    const { id, ...rest } = row;
    return { backupId: id, ...rest };
  }

  return { backup, latestBackup };
}
