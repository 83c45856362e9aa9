/** `plan_backfill_runs`: the run history the checklist asks to keep, and each run's checkpoint. */
import {
  ACTIVE_RUN_STATUSES,
  isFinalRunStatus,
  statusesLeadingTo,
  type BackfillErrorSummary,
  type BackfillMode,
  type BackfillRun,
  type RunCounters,
  type RunStatus,
} from '../model/backfill';
import type { CatchUpState } from '../model/catch-up';
import { Queryable } from './connection';
import { LEGACY_SNAPSHOT_SQL } from './legacy-snapshot';

export type { BackfillErrorSummary, BackfillMode, BackfillRun, RunCounters, RunStatus } from '../model/backfill';
export { ZERO_COUNTERS } from '../model/backfill';

const COLUMNS = `run_id, environment, workflow_id, mode, status, options, cursor, up_to_id, artifacts_total, run_limit,
  artifacts_read, versions_written, versions_skipped, versions_rejected, versions_conflicted, plans_written,
  series_written, kpis_written, events_written, errors_count, errors, started_at, updated_at, finished_at, closed_reason, retry_of_run_id,
  catch_up_pass, catch_up`;

interface RunRow {
  run_id: string;
  environment: string;
  workflow_id: string | null;
  mode: BackfillMode;
  status: RunStatus;
  options: Record<string, unknown>;
  cursor: number;
  up_to_id: number;
  artifacts_total: number;
  run_limit: number | null;
  artifacts_read: number;
  versions_written: number;
  versions_skipped: number;
  versions_rejected: number;
  versions_conflicted: number;
  plans_written: number;
  series_written: number;
  kpis_written: number;
  events_written: number;
  errors_count: number;
  errors: BackfillErrorSummary[];
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  closed_reason: string | null;
  retry_of_run_id: string | null;
  catch_up_pass: number;
  catch_up: CatchUpState;
}

function fromRow(r: RunRow): BackfillRun {
  return {
    runId: r.run_id,
    environment: r.environment,
    workflowId: r.workflow_id,
    mode: r.mode,
    status: r.status,
    options: r.options,
    cursor: r.cursor,
    upToId: r.up_to_id,
    artifactsTotal: r.artifacts_total,
    limit: r.run_limit,
    artifactsRead: r.artifacts_read,
    versionsWritten: r.versions_written,
    versionsSkipped: r.versions_skipped,
    versionsRejected: r.versions_rejected,
    versionsConflicted: r.versions_conflicted,
    plansWritten: r.plans_written,
    seriesWritten: r.series_written,
    kpisWritten: r.kpis_written,
    eventsWritten: r.events_written,
    errorsCount: r.errors_count,
    errors: r.errors,
    startedAt: r.started_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
    closedReason: r.closed_reason,
    ...(r.retry_of_run_id !== null && { retryOf: r.retry_of_run_id }),
    catchUpPass: r.catch_up_pass,
    catchUp: r.catch_up,
  };
}

export async function getRun(db: Queryable, runId: string, opts: { forUpdate?: boolean } = {}): Promise<BackfillRun | null> {
  const res = await db.query<RunRow>(`SELECT ${COLUMNS} FROM plan_backfill_runs WHERE run_id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [
    runId,
  ]);
  return res.rows[0] ? fromRow(res.rows[0]) : null;
}

export interface NewRun {
  runId: string;
  environment: string;
  workflowId: string | null;
  mode: BackfillMode;
  options: Record<string, unknown>;
  cursor: number;
  upToId: number;
  artifactsTotal: number;
  limit: number | null;
  /** A retry-errors run: the run whose errors it re-reads. */
  retryOf?: string;
}

const ACTIVE_SQL = ACTIVE_RUN_STATUSES.map((st) => `'${st}'`).join(', ');

/** The unique partial index that allows one running or paused run per environment. */
const ONE_ACTIVE_INDEX = 'plan_backfill_runs_one_active_idx';

/** Another run of the environment is running or paused (createRun hit plan_backfill_runs_one_active_idx). */
export class ActiveRunExistsError extends Error {
  constructor(readonly environment: string) {
    super(`another backfill run of ${environment} is running or paused`);
    this.name = 'ActiveRunExistsError';
  }
}

function isOneActiveViolation(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === ONE_ACTIVE_INDEX;
}

/**
 * Inserts the run row as running, with the snapshot it reads the legacy table after (db/legacy-snapshot.ts);
 * a second call with the same run id returns the existing row (activity
 * retries). Throws ActiveRunExistsError when another run of the environment is active: the unique index
 * makes that check atomic under simultaneous starts.
 */
export async function createRun(db: Queryable, run: NewRun): Promise<BackfillRun> {
  try {
    await db.query(
      `INSERT INTO plan_backfill_runs (run_id, environment, workflow_id, mode, status, options, cursor, up_to_id, artifacts_total, run_limit,
                                       retry_of_run_id)
       VALUES ($1, $2, $3, $4, 'running', $5::jsonb || jsonb_build_object('legacySnapshot', ${LEGACY_SNAPSHOT_SQL}), $6, $7, $8, $9, $10)
       ON CONFLICT (run_id) DO NOTHING`,
      [
        run.runId,
        run.environment,
        run.workflowId,
        run.mode,
        JSON.stringify(run.options),
        run.cursor,
        run.upToId,
        run.artifactsTotal,
        run.limit,
        run.retryOf ?? null,
      ],
    );
  } catch (err) {
    if (isOneActiveViolation(err)) throw new ActiveRunExistsError(run.environment);
    throw err;
  }
  return (await getRun(db, run.runId))!;
}

/** The environment's running or paused run, if any (the unique index allows at most one). */
export async function activeRun(db: Queryable, environment: string): Promise<BackfillRun | null> {
  // The literal list (ACTIVE_RUN_STATUSES) matches the partial index's predicate, so the planner can use it.
  const res = await db.query<RunRow>(`SELECT ${COLUMNS} FROM plan_backfill_runs WHERE environment = $1 AND status IN (${ACTIVE_SQL})`, [
    environment,
  ]);
  return res.rows[0] ? fromRow(res.rows[0]) : null;
}

/**
 * Moves a run to `status` if RUN_TRANSITIONS allows it from its current status; a final status records
 * `reason` as closed_reason and the finish time. `changed` is false when the run already had that status
 * or could not move (a final status is never left): whoever closes a run first wins, and only they count it.
 */
export async function setRunStatus(
  db: Queryable,
  runId: string,
  status: RunStatus,
  opts: { note?: string; reason?: string } = {},
): Promise<{ run: BackfillRun; changed: boolean }> {
  const final = isFinalRunStatus(status);
  const res = await db.query<RunRow>(
    `UPDATE plan_backfill_runs
        SET status = $2, updated_at = now(),
            finished_at = CASE WHEN $3 THEN now() ELSE finished_at END,
            closed_reason = CASE WHEN $3 THEN $5::text ELSE closed_reason END,
            options = CASE WHEN $4::text IS NULL THEN options ELSE options || jsonb_build_object('note', $4::text) END
      WHERE run_id = $1 AND status = ANY($6::text[])
      RETURNING ${COLUMNS}`,
    [runId, status, final, opts.note ?? null, final ? (opts.reason ?? opts.note ?? status) : null, statusesLeadingTo(status)],
  );
  if (res.rows[0]) return { run: fromRow(res.rows[0]), changed: true };
  const existing = await getRun(db, runId);
  if (!existing) throw new Error(`backfill run ${runId} does not exist`);
  return { run: existing, changed: false };
}

/**
 * Adds a batch's counters to the run row and moves its cursor to the low-water mark of its shards (every id
 * at or below it is done: the lowest cursor of a shard still working, or the run's end). Inside the batch's
 * transaction, after its shard row moved (advanceShard), and last: the row lock it takes, which serializes
 * the shards' commits, is held only until the commit. Returns the run as it now is, status included: the
 * caller rolls the batch back if the run was closed meanwhile.
 */
export async function advanceRun(
  db: Queryable,
  runId: string,
  delta: RunCounters,
  newErrors: BackfillErrorSummary[],
): Promise<BackfillRun> {
  // The row lock first, in its own statement: the UPDATE's snapshot is then taken after every shard that
  // committed before us, so the low-water mark it computes includes their cursors (a statement that waited
  // for the lock would re-check the row but not re-run its subquery).
  await db.query(`SELECT 1 FROM plan_backfill_runs WHERE run_id = $1 FOR NO KEY UPDATE`, [runId]);
  const res = await db.query<RunRow>(
    `UPDATE plan_backfill_runs SET
        cursor = (SELECT coalesce(min(s.cursor) FILTER (WHERE NOT s.done), max(s.up_to_id)) FROM plan_backfill_shards s WHERE s.run_id = $1
                   HAVING count(*) > 0),
        artifacts_read = artifacts_read + $2, versions_written = versions_written + $3,
        versions_skipped = versions_skipped + $4, versions_rejected = versions_rejected + $5,
        versions_conflicted = versions_conflicted + $6, plans_written = plans_written + $7,
        series_written = series_written + $8, kpis_written = kpis_written + $9,
        events_written = events_written + $10, errors_count = errors_count + $11,
        -- keep the first 100 errors; the rest are in plan_backfill_errors
        errors = CASE WHEN jsonb_array_length(errors) >= 100 OR $12::jsonb = '[]'::jsonb THEN errors
                      ELSE (SELECT coalesce(jsonb_agg(e), '[]'::jsonb) FROM (
                              SELECT e FROM jsonb_array_elements(errors || $12::jsonb) WITH ORDINALITY AS t(e, i) ORDER BY i LIMIT 100) s) END,
        updated_at = now()
      WHERE run_id = $1
      RETURNING ${COLUMNS}`,
    [
      runId,
      delta.artifactsRead,
      delta.versionsWritten,
      delta.versionsSkipped,
      delta.versionsRejected,
      delta.versionsConflicted,
      delta.plansWritten,
      delta.seriesWritten,
      delta.kpisWritten,
      delta.eventsWritten,
      delta.errorsCount,
      JSON.stringify(newErrors),
    ],
  );
  return fromRow(res.rows[0]);
}

/**
 * The newest run of the environment that is neither a dry run nor a cut-over delta (what a resuming
 * migration continues); retry-errors runs are not range runs either, so their cursor is no place to continue from.
 */
export async function latestRealRun(db: Queryable, environment: string): Promise<{ runId: string; status: RunStatus } | null> {
  const res = await db.query<{ run_id: string; status: RunStatus }>(
    `SELECT run_id, status FROM plan_backfill_runs WHERE environment = $1 AND mode NOT IN ('dry-run', 'delta') AND retry_of_run_id IS NULL
      ORDER BY started_at DESC LIMIT 1`,
    [environment],
  );
  const r = res.rows[0];
  return r ? { runId: r.run_id, status: r.status } : null;
}

/** A run's error counts by reason (the `limit` largest) and its first three errors, for failure messages. */
export async function errorsSample(db: Queryable, runId: string, limit: number) {
  const byReason = await db.query<{ reason: string; n: number }>(
    `SELECT reason, count(*)::int AS n FROM plan_backfill_errors WHERE run_id = $1 GROUP BY reason ORDER BY n DESC, reason LIMIT $2`,
    [runId, limit],
  );
  const first = await db.query<{ artifact_id: number; plan_id: string; version: number; reason: string; message: string }>(
    `SELECT artifact_id, plan_id, version, reason, detail->>'message' AS message FROM plan_backfill_errors
      WHERE run_id = $1 ORDER BY id LIMIT 3`,
    [runId],
  );
  return {
    byReason: byReason.rows,
    first: first.rows.map((r) => ({
      artifactId: r.artifact_id,
      planId: r.plan_id,
      version: r.version,
      reason: r.reason,
      message: r.message,
    })),
  };
}
