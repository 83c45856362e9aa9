/**
 * Capacity trim (SPEC §6 trimCapacity): deletes the oldest versions that are not their plan's latest,
 * a few at a time, until plan_series (the capacity unit, counted as recordCapacity counts it) is at
 * most maxRows. The cascade takes each version's KPIs, series and events with it.
 */
import pg from 'pg';
import { lockEnvironmentForWrite, tryLockEnvironmentForTrim, unlockEnvironmentForTrim } from './advisory-locks';
import { Queryable, withClient } from './connection';
import { repositoryCounts } from './repository-stats';

/** Versions deleted per transaction: short transactions, so backfill batches and readers wait little. */
export const TRIM_BATCH_VERSIONS = 100;

/** Why the trim stopped: the rows are within maxRows, or only latest versions are left. */
export type TrimStop = 'under-max-rows' | 'nothing-trimmable';

export interface TrimOptions {
  environment: string;
  maxRows: number;
  dryRun: boolean;
  workflowId: string | null;
  /** Runs before anything is counted, and in each batch transaction once the write lock is held; throws to refuse. */
  guard?: (db: Queryable) => Promise<void>;
  /** Called after each committed batch (heartbeats, metrics); throwing stops the trim there. */
  onBatch?: (batch: TrimBatch, soFar: TrimCounts) => void;
}

export interface TrimCounts {
  rowsTrimmed: number;
  versionsTrimmed: number;
  batches: number;
}

export interface TrimBatch {
  rows: number;
  versions: number;
  /** Duration of the batch transaction. */
  seconds: number;
}

export interface TrimResult extends TrimCounts {
  /** The `plan_db_trim_runs` row. */
  trimRunId: number;
  environment: string;
  maxRows: number;
  dryRun: boolean;
  /** plan_series rows at the start. */
  rowsBefore: number;
  /** rowsBefore - rowsTrimmed (a dry run: what the real run would leave). */
  rowsAfter: number;
  stop: TrimStop;
}

/** A trim that cannot start; `reason` is the failure type the activity reports. */
export class TrimRefusedError extends Error {
  constructor(
    message: string,
    readonly reason: 'RepositoryMissing' | 'TrimAlreadyRunning',
  ) {
    super(message);
    this.name = 'TrimRefusedError';
  }
}

/**
 * The selection both a real run and a dry run use. Candidates: versions other than their plan's latest,
 * oldest first ($2 of them; null = all). A candidate is picked while the plan_series rows of the ones
 * before it are still short of $1 (the rows to remove), so the trim takes no more than it needs.
 */
const PICKED = `
  WITH candidates AS (
    SELECT v.plan_id, v.version, coalesce(v.artifact_created_at, v.backfilled_at) AS created_at
      FROM plan_versions v JOIN plans p ON p.plan_id = v.plan_id
     WHERE v.version <> p.latest_version
     ORDER BY created_at, v.plan_id, v.version
     LIMIT $2
  ), sized AS (
    SELECT c.*, (SELECT count(*) FROM plan_series s WHERE s.plan_id = c.plan_id AND s.version = c.version) AS series
      FROM candidates c
  ), picked AS (
    SELECT plan_id, version, series,
           sum(series) OVER (ORDER BY created_at, plan_id, version ROWS UNBOUNDED PRECEDING) - series AS rows_before
      FROM sized
  )`;

interface Counted {
  versions: number;
  rows: number;
}

async function deleteBatch(db: Queryable, excess: number): Promise<Counted> {
  const res = await db.query<Counted>(
    `${PICKED}, deleted AS (
        DELETE FROM plan_versions v USING picked p
         WHERE v.plan_id = p.plan_id AND v.version = p.version AND p.rows_before < $1
        RETURNING p.series)
      SELECT count(*)::int8 AS versions, coalesce(sum(series), 0)::int8 AS rows FROM deleted`,
    [excess, TRIM_BATCH_VERSIONS],
  );
  return res.rows[0];
}

/** What the batches would delete, in one read-only pass over every candidate. */
async function wouldDelete(db: Queryable, excess: number): Promise<Counted> {
  const res = await db.query<Counted>(
    `${PICKED} SELECT count(*)::int8 AS versions, coalesce(sum(series), 0)::int8 AS rows FROM picked WHERE rows_before < $1`,
    [excess, null],
  );
  return res.rows[0];
}

async function inTransaction<T>(db: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  await db.query('BEGIN');
  try {
    const result = await fn();
    await db.query('COMMIT');
    return result;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Trims `pool`'s repository to `maxRows` plan_series rows and records the run in `plan_db_trim_runs`. */
export async function trimRepository(pool: pg.Pool, opts: TrimOptions): Promise<TrimResult> {
  return withClient(pool, async (db) => {
    if (!(await tryLockEnvironmentForTrim(db, opts.environment)))
      throw new TrimRefusedError(`another capacity trim of ${opts.environment} is running`, 'TrimAlreadyRunning');
    try {
      await opts.guard?.(db);
      const counts = await repositoryCounts(db);
      if (!counts)
        throw new TrimRefusedError(`${opts.environment} has no PlanRepository tables: apply the migrations first`, 'RepositoryMissing');
      const rowsBefore = counts.plan_series;
      const soFar: TrimCounts = { rowsTrimmed: 0, versionsTrimmed: 0, batches: 0 };
      let stop: TrimStop = 'under-max-rows';
      if (opts.dryRun) {
        const would = rowsBefore > opts.maxRows ? await wouldDelete(db, rowsBefore - opts.maxRows) : { versions: 0, rows: 0 };
        soFar.rowsTrimmed = would.rows;
        soFar.versionsTrimmed = would.versions;
        if (rowsBefore - would.rows > opts.maxRows) stop = 'nothing-trimmable';
      }
      const run = await db.query<{ id: number }>(
        `INSERT INTO plan_db_trim_runs (environment, max_rows, rows_before, rows_trimmed, versions_trimmed, dry_run, workflow_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
        [opts.environment, opts.maxRows, rowsBefore, soFar.rowsTrimmed, soFar.versionsTrimmed, opts.dryRun, opts.workflowId],
      );
      const trimRunId = run.rows[0].id;
      while (!opts.dryRun && rowsBefore - soFar.rowsTrimmed > opts.maxRows) {
        const started = process.hrtime.bigint();
        const batch = await inTransaction(db, async () => {
          // Serializes with backfill batches, which may be moving a plan's latest version.
          await lockEnvironmentForWrite(db, opts.environment);
          await opts.guard?.(db);
          const deleted = await deleteBatch(db, rowsBefore - soFar.rowsTrimmed - opts.maxRows);
          await db.query(
            `UPDATE plan_db_trim_runs SET rows_trimmed = rows_trimmed + $2, versions_trimmed = versions_trimmed + $3 WHERE id = $1`,
            [trimRunId, deleted.rows, deleted.versions],
          );
          return deleted;
        });
        if (batch.versions === 0) {
          stop = 'nothing-trimmable';
          break;
        }
        soFar.rowsTrimmed += batch.rows;
        soFar.versionsTrimmed += batch.versions;
        soFar.batches++;
        opts.onBatch?.({ ...batch, seconds: Number(process.hrtime.bigint() - started) / 1e9 }, { ...soFar });
      }
      return {
        trimRunId,
        environment: opts.environment,
        maxRows: opts.maxRows,
        dryRun: opts.dryRun,
        rowsBefore,
        rowsAfter: rowsBefore - soFar.rowsTrimmed,
        ...soFar,
        stop,
      };
    } finally {
      await unlockEnvironmentForTrim(db, opts.environment);
    }
  });
}
