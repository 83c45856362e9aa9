/** Backfill activities: start a run, process chunks of batches, change a run's status. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { getEnvironment } from '../config/environment';
import { prefetchBatch, Prefetched, runBatch, batchLimit, BatchOutcome } from '../db/backfill-batch';
import {
  abandonStaleRuns,
  activeRuns,
  BackfillMode,
  BackfillRun,
  createRun,
  getRun,
  RunStatus,
  setRunStatus,
} from '../db/backfill-runs';
import { withClient } from '../db/connection';
import { legacyTableExists } from '../db/legacy-reader';
import type { ActivityDeps } from './deps';
import { activityContext, heartbeat } from './heartbeat';

/** A run with no write for this long is considered abandoned (its workflow was terminated). */
export const STALE_RUN_SECONDS = 600;
const HEARTBEAT_EVERY_MS = 5_000;

export interface StartRunInput {
  environment: string;
  runId: string;
  workflowId: string;
  mode: BackfillMode;
  limit: number | null;
  /** A previous run id, or `artifact:<id>`. */
  resumeFrom: string | null;
  options: Record<string, unknown>;
}

export interface ChunkInput {
  environment: string;
  runId: string;
  batchSize: number;
  maxErrors: number;
  /** Stop after this long (ms) so the workflow gets control back regularly. */
  timeBudgetMs: number;
}

export interface ChunkResult {
  /** null: the budget ran out and there is more to do. */
  stop: BatchOutcome['stop'] | 'too-many-errors';
  run: BackfillRun;
  batches: number;
  rowsWritten: number;
  seconds: number;
}

function nonRetryable(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

async function resolveStartCursor(deps: ActivityDeps, input: StartRunInput): Promise<number> {
  if (!input.resumeFrom) return 0;
  const artifact = /^artifact:(\d+)$/.exec(input.resumeFrom);
  if (artifact) return Number(artifact[1]);
  const previous = await getRun(deps.databases.pool(input.environment), input.resumeFrom);
  if (!previous) throw nonRetryable(`resumeFrom: no backfill run "${input.resumeFrom}" in ${input.environment}`, 'InvalidResume');
  if (previous.environment !== input.environment) {
    throw nonRetryable(`resumeFrom: run ${input.resumeFrom} belongs to ${previous.environment}, not ${input.environment}`, 'InvalidResume');
  }
  return previous.cursor;
}

export function createBackfillActivities(deps: ActivityDeps) {
  const { metrics } = deps;

  async function startBackfillRun(input: StartRunInput): Promise<BackfillRun> {
    getEnvironment(deps.config, input.environment);
    const pool = deps.databases.pool(input.environment);
    const existing = await getRun(pool, input.runId);
    if (existing) return existing; // a retry of this activity
    if (!(await legacyTableExists(pool))) {
      throw nonRetryable(`${input.environment} has no plan_artifacts table: nothing to backfill`, 'NoLegacyTable');
    }
    const abandoned = await abandonStaleRuns(pool, input.environment, {
      freshSeconds: STALE_RUN_SECONDS,
      closedWorkflowId: input.workflowId,
      supersededBy: input.runId,
    });
    if (abandoned.length) deps.logger.warn({ event: 'backfill_runs_abandoned', environment: input.environment, runIds: abandoned });
    const others = (await activeRuns(pool, input.environment, STALE_RUN_SECONDS)).filter((r) => r.runId !== input.runId);
    if (others.length) {
      const o = others[0];
      throw nonRetryable(
        `another backfill run is active in ${input.environment}: ${o.runId} (${o.status}, workflow ${o.workflowId ?? '?'}, cursor ${o.cursor})`,
        'BackfillAlreadyRunning',
      );
    }
    const cursor = await resolveStartCursor(deps, input);
    const bounds = await pool.query<{ up_to: number | null; n: number }>(
      `SELECT (SELECT max(id) FROM plan_artifacts) AS up_to, (SELECT count(*)::int8 FROM plan_artifacts WHERE id > $1) AS n`,
      [cursor],
    );
    const upToId = bounds.rows[0].up_to ?? 0;
    const total = input.limit === null ? bounds.rows[0].n : Math.min(input.limit, bounds.rows[0].n);
    const run = await createRun(pool, {
      runId: input.runId,
      environment: input.environment,
      workflowId: input.workflowId,
      mode: input.mode,
      options: { ...input.options, startCursor: cursor, resumeFrom: input.resumeFrom },
      cursor,
      upToId,
      artifactsTotal: total,
      limit: input.limit,
    });
    deps.logger.info({ event: 'backfill_run_started', environment: input.environment, runId: run.runId, mode: run.mode, cursor, upToId, total });
    return run;
  }

  function recordBatchMetrics(environment: string, outcome: BatchOutcome, mode: BackfillMode): void {
    const d = outcome.delta;
    if (mode !== 'dry-run') {
      metrics.writeLatency.observe({ environment, operation: 'backfill_batch' }, outcome.seconds);
      metrics.writeTotal.inc({ environment, table: 'plan_versions' }, d.versionsWritten);
      metrics.writeTotal.inc({ environment, table: 'plans' }, d.plansWritten);
      metrics.writeTotal.inc({ environment, table: 'plan_series' }, d.seriesWritten);
      metrics.writeTotal.inc({ environment, table: 'plan_kpis' }, d.kpisWritten);
      metrics.writeTotal.inc({ environment, table: 'plan_events' }, d.eventsWritten);
    }
    for (const [reason, n] of Object.entries(outcome.rejectsByReason)) metrics.writeErrorTotal.inc({ environment, reason }, n);
    const outcomes = { written: d.versionsWritten, skipped: d.versionsSkipped, rejected: d.versionsRejected, conflict: d.versionsConflicted };
    for (const [outcomeName, n] of Object.entries(outcomes)) {
      if (n) metrics.backfillArtifactsTotal.inc({ environment, outcome: mode === 'dry-run' ? `dry_run_${outcomeName}` : outcomeName }, n);
    }
  }

  /**
   * Processes batches until the time budget is used, the run ends or stops, or the workflow cancels us.
   * Pipelined: batch N+1 is read and transformed (outside any transaction) while batch N is written;
   * runBatch uses it only if it starts at the committed cursor.
   */
  async function backfillChunk(input: ChunkInput): Promise<ChunkResult> {
    const pool = deps.databases.pool(input.environment);
    const ctx = activityContext();
    const started = Date.now();
    const elapsed = () => (Date.now() - started) / 1000;
    let batches = 0;
    let rowsWritten = 0;
    let run = await getRun(pool, input.runId);
    if (!run) throw nonRetryable(`backfill run ${input.runId} does not exist`, 'UnknownRun');
    // Liveness even while one large batch is in flight; the details carry the last committed cursor.
    const beat = setInterval(() => heartbeat({ runId: run?.runId, cursor: run?.cursor, artifactsRead: run?.artifactsRead }), HEARTBEAT_EVERY_MS);
    let current: Prefetched | null = null;
    let next: Promise<Prefetched | null> | null = null;
    try {
      if (run.status === 'running') current = await prefetchBatch(pool, run, run.cursor, batchLimit(run, input.batchSize));
      for (;;) {
        const writing = runBatch(pool, { runId: input.runId, environment: input.environment, batchSize: input.batchSize, prefetched: current });
        const end = current?.artifacts.at(-1)?.id;
        if (current && end !== undefined) {
          const limit = batchLimit({ ...run, artifactsRead: run.artifactsRead + current.artifacts.length }, input.batchSize);
          // A failed read-ahead only costs the overlap: the batch is then read inside its transaction.
          next = prefetchBatch(pool, run, end, limit).catch(() => null);
        }
        let outcome: BatchOutcome;
        try {
          outcome = await writing;
        } catch (err) {
          metrics.writeErrorTotal.inc({ environment: input.environment, reason: 'db_error' });
          throw err;
        }
        run = outcome.run;
        if (outcome.stop) return { stop: outcome.stop, run, batches, rowsWritten, seconds: elapsed() };
        batches++;
        const d = outcome.delta;
        rowsWritten += d.versionsWritten + d.seriesWritten + d.kpisWritten + d.eventsWritten;
        recordBatchMetrics(input.environment, outcome, run.mode);
        heartbeat({ runId: run.runId, cursor: run.cursor, artifactsRead: run.artifactsRead });
        if (run.errorsCount > input.maxErrors) return { stop: 'too-many-errors', run, batches, rowsWritten, seconds: elapsed() };
        if (ctx?.cancellationSignal.aborted) throw new CancelledFailure('backfill cancelled after a committed batch');
        if (Date.now() - started >= input.timeBudgetMs) return { stop: null, run, batches, rowsWritten, seconds: elapsed() };
        current = next ? await next : null;
        next = null;
      }
    } finally {
      clearInterval(beat);
      await next;
    }
  }

  async function setBackfillRunStatus(input: { environment: string; runId: string; status: RunStatus; note?: string }): Promise<BackfillRun> {
    const pool = deps.databases.pool(input.environment);
    const before = await getRun(pool, input.runId);
    const run = await setRunStatus(pool, input.runId, input.status, input.note);
    const becameFinal = before && before.status !== run.status && ['completed', 'failed', 'cancelled'].includes(run.status);
    if (becameFinal) {
      metrics.backfillRunsTotal.inc({ environment: input.environment, status: run.status });
      if (run.status === 'completed' && run.mode !== 'dry-run') metrics.backfillLastSuccess.set({ environment: input.environment }, Date.now() / 1000);
      deps.logger.info({ event: 'backfill_run_finished', environment: input.environment, runId: run.runId, status: run.status, note: input.note });
    }
    return run;
  }

  /** The error counts by reason and the first errors of a run, for failure messages. */
  async function backfillErrorsSample(input: { environment: string; runId: string; limit: number }) {
    return withClient(deps.databases.pool(input.environment), async (db) => {
      const byReason = await db.query<{ reason: string; n: number }>(
        `SELECT reason, count(*)::int AS n FROM plan_backfill_errors WHERE run_id = $1 GROUP BY reason ORDER BY n DESC, reason LIMIT $2`,
        [input.runId, input.limit],
      );
      const first = await db.query<{ artifact_id: number; plan_id: string; version: number; reason: string; message: string }>(
        `SELECT artifact_id, plan_id, version, reason, detail->>'message' AS message FROM plan_backfill_errors
          WHERE run_id = $1 ORDER BY id LIMIT 3`,
        [input.runId],
      );
      return {
        byReason: byReason.rows,
        first: first.rows.map((r) => ({ artifactId: r.artifact_id, planId: r.plan_id, version: r.version, reason: r.reason, message: r.message })),
      };
    });
  }

  return { startBackfillRun, backfillChunk, setBackfillRunStatus, backfillErrorsSample };
}
