/**
 * The first load's bulk path as activities (db/bulk-load.ts): check, prepare, finish. The backfill workflow
 * calls them around its batches: after the run is created, if checkBulkLoad says eligible, prepareBulkLoad;
 * the batches then write without the child tables' keys and foreign keys; finishBulkLoad before completing.
 */
import { ApplicationFailure } from '@temporalio/common';
import { getEnvironment } from '../config/environment';
import { getRun } from '../db/backfill-runs';
import {
  BulkLoadDataError,
  bulkLoadEligibility,
  BulkLoadRefusedError,
  bulkLoadState,
  finishBulkLoad as finishBuild,
  pendingBulkLoad,
  prepareBulkLoad as prepareDrop,
  type BulkLoadState,
  type BulkStep,
} from '../db/bulk-load';
import { isFinalRunStatus } from '../model/backfill';
import type { BuildStage } from '../model/bulk-load';
import type { ActivityDeps, WorkerActivityDeps } from './deps';
import { activityContext, heartbeat, withHeartbeat } from './heartbeat';

export interface BulkLoadInput {
  environment: string;
  runId: string;
}

export interface BulkLoadCheck {
  eligible: boolean;
  /** For operators (progress, Current Details, the run history): why this run does or does not take the bulk path. */
  reason: string;
  state: BulkLoadState;
  /** The run whose bulk load is prepared and not finished, if any. */
  pendingRunId: string | null;
}

export interface BulkPrepareResult {
  /** false: it was already prepared (an activity retry). */
  prepared: boolean;
  /** `table.name` of each structure dropped, to be rebuilt by finishBulkLoad. */
  dropped: string[];
  seconds: number;
}

export interface BulkFinishResult {
  /** null: nothing was pending (already finished). */
  runId: string | null;
  steps: BulkStep[];
  seconds: number;
  /** A cancel arrived during the build: it was finished anyway, so the schema is whole. */
  cancelRequested: boolean;
}

const elapsed = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/** Refuses, non-retryably, to run `what` on a schema the bulk path has not rebuilt yet. */
export async function refuseDuringBulkLoad(deps: ActivityDeps, environment: string, what: string): Promise<void> {
  const pool = deps.databases.pool(environment);
  const state = await bulkLoadState(pool);
  if (state === 'none') return;
  const pending = await pendingBulkLoad(pool);
  throw ApplicationFailure.nonRetryable(
    `${what} refused: a bulk load of ${environment} (run ${pending?.runId ?? '?'}) is ${state}, its keys and foreign keys are not rebuilt yet; ` +
      `let its backfill finish, or run its finishBulkLoad`,
    'BulkLoadPending',
  );
}

/**
 * The reconciler's check: a bulk load whose run is closed (its workflow was terminated or timed out, which
 * runs no workflow code) would leave the child tables without keys until the next backfill; build them now.
 * Returns 1 when it built something. A run still running or paused owns its load and is left alone.
 */
export async function reconcileOrphanedBulkLoad(deps: WorkerActivityDeps, environment: string): Promise<number> {
  const pool = deps.databases.pool(environment);
  const pending = await pendingBulkLoad(pool);
  if (!pending) return 0;
  const run = await getRun(pool, pending.runId);
  if (run && !isFinalRunStatus(run.status)) return 0;
  // A workflow that closed its run after a cancel or failure builds the keys itself, right after.
  if (run?.workflowId && (await deps.workflowLiveness(run.workflowId)).running) return 0;
  const result = await finishBuild(pool, {
    maintenanceWorkMem: getEnvironment(deps.config, environment).backfill.bulkLoadMaintenanceWorkMem,
  });
  deps.logger.warn({
    event: 'bulk_load_reconciled',
    environment,
    runId: pending.runId,
    runStatus: run?.status ?? null,
    steps: result.steps.length,
  });
  return result.runId === null ? 0 : 1;
}

export function createBulkLoadActivities(deps: ActivityDeps) {
  const { metrics } = deps;

  async function checkBulkLoad(input: BulkLoadInput): Promise<BulkLoadCheck> {
    const { environment, runId } = input;
    const pool = deps.databases.pool(environment);
    const [state, pending, run] = await Promise.all([bulkLoadState(pool), pendingBulkLoad(pool), getRun(pool, runId)]);
    const base = { state, pendingRunId: pending?.runId ?? null };
    // A retried or replayed start of the run that prepared: it goes on with the bulk path.
    if (pending?.runId === runId) return { ...base, eligible: true, reason: `the bulk load of run ${runId} is already prepared` };
    if (getEnvironment(deps.config, environment).backfill.bulkLoad === 'off')
      return { ...base, eligible: false, reason: `backfill.bulkLoad is "off" for ${environment}` };
    if (!run) return { ...base, eligible: false, reason: `backfill run ${runId} does not exist` };
    if (run.mode === 'dry-run') return { ...base, eligible: false, reason: 'a dry run writes nothing' };
    return { ...base, ...(await bulkLoadEligibility(pool, environment)) };
  }

  async function prepareBulkLoad(input: BulkLoadInput): Promise<BulkPrepareResult> {
    const started = process.hrtime.bigint();
    try {
      const result = await prepareDrop(deps.databases.pool(input.environment), input.runId);
      const seconds = elapsed(started);
      if (result.prepared) metrics.backfillBulkStageSeconds.observe({ environment: input.environment, stage: 'prepare' }, seconds);
      deps.logger.info({
        event: 'bulk_load_prepared',
        ...input,
        prepared: result.prepared,
        preparedBy: result.runId,
        objects: result.objects.length,
      });
      return { prepared: result.prepared, dropped: result.objects.map((o) => `${o.table}.${o.name}`), seconds };
    } catch (err) {
      // The repository filled up since the check: the run takes the per-batch path instead.
      if (err instanceof BulkLoadRefusedError) throw ApplicationFailure.nonRetryable(err.message, 'BulkLoadRefused');
      throw err;
    }
  }

  /**
   * Builds what prepare dropped. Long: heartbeats per step and while a step runs. A cancel does not stop
   * it (stopping would leave the child tables without keys); a retry after a crash resumes from the catalog.
   */
  async function finishBulkLoad(input: BulkLoadInput): Promise<BulkFinishResult> {
    const { environment } = input;
    const started = process.hrtime.bigint();
    const stageTimes = new Map<BuildStage, { from: bigint; to: bigint }>();
    let current: unknown = { step: 'starting' };
    const backfill = getEnvironment(deps.config, environment).backfill;
    try {
      const result = await withHeartbeat(
        () => current,
        () =>
          finishBuild(deps.databases.pool(environment), {
            maintenanceWorkMem: backfill.bulkLoadMaintenanceWorkMem,
            onStep: (step) => {
              const now = process.hrtime.bigint();
              const times = stageTimes.get(step.stage) ?? { from: now, to: now };
              times.to = now;
              stageTimes.set(step.stage, times);
              current = step;
              heartbeat(current);
            },
          }),
      );
      for (const [stage, { from, to }] of stageTimes)
        metrics.backfillBulkStageSeconds.observe({ environment, stage }, Number(to - from) / 1e9);
      const cancelRequested = activityContext()?.cancellationSignal.aborted ?? false;
      const seconds = elapsed(started);
      deps.logger.info({
        event: 'bulk_load_finished',
        ...input,
        finishedRun: result.runId,
        steps: result.steps.length,
        seconds,
        cancelRequested,
      });
      return { runId: result.runId, steps: result.steps, seconds, cancelRequested };
    } catch (err) {
      if (err instanceof BulkLoadDataError) {
        deps.logger.error({
          event: 'bulk_load_build_failed',
          ...input,
          table: err.table,
          constraint: err.constraint,
          detail: err.pgDetail,
        });
        throw ApplicationFailure.nonRetryable(err.message, err.name, { table: err.table, constraint: err.constraint });
      }
      throw err;
    }
  }

  return { checkBulkLoad, prepareBulkLoad, finishBulkLoad };
}
