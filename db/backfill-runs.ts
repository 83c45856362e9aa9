/** `plan_backfill_runs`: the run history the checklist asks to keep, and each run's checkpoint. */
import type { BackfillErrorSummary, BackfillMode, BackfillRun, RunCounters, RunStatus } from '../model/backfill';
import { Queryable } from './connection';

export type { BackfillErrorSummary, BackfillMode, BackfillRun, RunCounters, RunStatus } from '../model/backfill';
export { ZERO_COUNTERS } from '../model/backfill';

const COLUMNS = `run_id, environment, workflow_id, mode, status, options, cursor, up_to_id, artifacts_total, run_limit,
  artifacts_read, versions_written, versions_skipped, versions_rejected, versions_conflicted, plans_written,
  series_written, kpis_written, events_written, errors_count, errors, started_at, updated_at, finished_at`;

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
}

/** Inserts the run row; a second call with the same run id returns the existing row (activity retries). */
export async function createRun(db: Queryable, run: NewRun): Promise<BackfillRun> {
  await db.query(
    `INSERT INTO plan_backfill_runs (run_id, environment, workflow_id, mode, status, options, cursor, up_to_id, artifacts_total, run_limit)
     VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $9) ON CONFLICT (run_id) DO NOTHING`,
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
    ],
  );
  return (await getRun(db, run.runId))!;
}

/** Runs of this environment that are running or paused and wrote within `freshSeconds`. */
export async function activeRuns(db: Queryable, environment: string, freshSeconds: number): Promise<BackfillRun[]> {
  const res = await db.query<RunRow>(
    `SELECT ${COLUMNS} FROM plan_backfill_runs
      WHERE environment = $1 AND status IN ('running', 'paused') AND updated_at > now() - make_interval(secs => $2)
      ORDER BY started_at`,
    [environment, freshSeconds],
  );
  return res.rows.map(fromRow);
}

/**
 * Marks runs left running or paused by a workflow that no longer runs, so they do not block the
 * environment: those of `closedWorkflowId` (Temporal runs one execution per workflow id, and the
 * caller's execution is the running one), and any with no write for `freshSeconds`.
 */
export async function abandonStaleRuns(
  db: Queryable,
  environment: string,
  opts: { freshSeconds: number; closedWorkflowId: string; supersededBy: string },
): Promise<string[]> {
  const res = await db.query<{ run_id: string }>(
    `UPDATE plan_backfill_runs SET status = 'failed', finished_at = now(), updated_at = now(),
            options = options || jsonb_build_object('abandoned', $4::text)
      WHERE environment = $1 AND status IN ('running', 'paused') AND run_id <> $5
        AND (workflow_id = $3 OR updated_at <= now() - make_interval(secs => $2))
      RETURNING run_id`,
    [
      environment,
      opts.freshSeconds,
      opts.closedWorkflowId,
      `its workflow ended without closing it; superseded by ${opts.supersededBy}`,
      opts.supersededBy,
    ],
  );
  return res.rows.map((r) => r.run_id);
}

/** Moves a run between running and paused, or to a final status. Final statuses are never left. */
export async function setRunStatus(db: Queryable, runId: string, status: RunStatus, note?: string): Promise<BackfillRun> {
  const final = ['completed', 'failed', 'cancelled'].includes(status);
  const res = await db.query<RunRow>(
    `UPDATE plan_backfill_runs
        SET status = $2, updated_at = now(),
            finished_at = CASE WHEN $3 THEN now() ELSE finished_at END,
            options = CASE WHEN $4::text IS NULL THEN options ELSE options || jsonb_build_object('note', $4::text) END
      WHERE run_id = $1 AND status NOT IN ('completed', 'failed', 'cancelled')
      RETURNING ${COLUMNS}`,
    [runId, status, final, note ?? null],
  );
  if (res.rows[0]) return fromRow(res.rows[0]);
  const existing = await getRun(db, runId);
  if (!existing) throw new Error(`backfill run ${runId} does not exist`);
  return existing;
}

/** Advances the checkpoint and adds the batch's counters; runs inside the batch's transaction. */
export async function advanceRun(
  db: Queryable,
  runId: string,
  cursor: number,
  delta: RunCounters,
  newErrors: BackfillErrorSummary[],
): Promise<void> {
  await db.query(
    `UPDATE plan_backfill_runs SET
        cursor = $2,
        artifacts_read = artifacts_read + $3, versions_written = versions_written + $4,
        versions_skipped = versions_skipped + $5, versions_rejected = versions_rejected + $6,
        versions_conflicted = versions_conflicted + $7, plans_written = plans_written + $8,
        series_written = series_written + $9, kpis_written = kpis_written + $10,
        events_written = events_written + $11, errors_count = errors_count + $12,
        -- keep the first 100 errors; the rest are in plan_backfill_errors
        errors = CASE WHEN jsonb_array_length(errors) >= 100 THEN errors
                      ELSE (SELECT coalesce(jsonb_agg(e), '[]'::jsonb) FROM (
                              SELECT e FROM jsonb_array_elements(errors || $13::jsonb) WITH ORDINALITY AS t(e, i) ORDER BY i LIMIT 100) s) END,
        updated_at = now()
      WHERE run_id = $1`,
    [
      runId,
      cursor,
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
}
