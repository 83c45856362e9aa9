/** Backfill activities: start a run, process chunks of batches, change a run's status. */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { getEnvironment } from '../config/environment';
import os from 'node:os';
import { prefetchBatch, Prefetched, runBatch, BatchOutcome } from '../db/backfill-batch';
import {
  ActiveRunExistsError,
  activeRun,
  BackfillMode,
  BackfillRun,
  errorsSample,
  getRun,
  RunStatus,
  setRunStatus,
} from '../db/backfill-runs';
import { adoptUnshardedRun, createShardedRun, getShard, listShards, type BackfillShard } from '../db/backfill-shards';
import type { Queryable } from '../db/connection';
import { retryTarget, RetryRefusedError, type RetryTarget } from '../db/error-replay';
import { waitForLegacyWriters } from '../db/catch-up';
import { legacyRangeAfter, legacyTableExists } from '../db/legacy-reader';
import { serverParallelism } from '../db/server-info';
import { BACKFILL_OUTCOMES, backfillOutcomeLabel, type BackfillOutcome } from '../metrics/registry';
import {
  batchSizeChange,
  initialTuner,
  observeBatch,
  observeError,
  observeThrottle,
  pin,
  release,
  type TunerConfig,
  type TunerState,
  type TunerStep,
} from '../model/batch-tuner';
import { closureForClosedWorkflow, isFinalRunStatus, MAX_SHARDS } from '../model/backfill';
import { recordBatchSizeChange } from '../db/batch-size-history';
import type { ThrottleHold } from '../model/throttle';
import { refreshRepositoryRowsAfter } from './capacity';
import type { WorkerActivityDeps } from './deps';
import { activityContext, heartbeat, withHeartbeat } from './heartbeat';
import { waitWhileThrottled, type ThrottleGate } from './throttle';

export interface StartRunInput {
  environment: string;
  runId: string;
  workflowId: string;
  mode: BackfillMode;
  limit: number | null;
  /** A previous run id, or `artifact:<id>`. */
  resumeFrom: string | null;
  options: Record<string, unknown>;
  /** How many shards to split the range into; default: the environment's backfill.shards. */
  shards?: number;
  /** A retry-errors run: re-read only the artifacts of this earlier run's unresolved errors. */
  retryOf?: string;
}

/** A started run and how many shards it has (numbered 0..shards-1). */
export interface StartedRun extends BackfillRun {
  shards: number;
}

export interface ChunkInput {
  environment: string;
  runId: string;
  /** The shard this chunk advances (absent from executions started before shards: shard 0). */
  shard?: number;
  batchSize: number;
  maxErrors: number;
  /** Stop after this long (ms) so the workflow gets control back regularly. */
  timeBudgetMs: number;
  /** The previous chunk's result.throttled: the backoff and held time go on. */
  throttle?: ThrottleHold;
  /** The shard's batch size tuner as the previous chunk left it; absent: a new one starting at batchSize. */
  tuner?: TunerState;
  /** The operator's size (setBatchSize): used as is, not tuned, until null (released). */
  pinnedBatchSize?: number | null;
  /** The run's override of the environment's backfill.tuning. */
  tuning?: Partial<TunerConfig>;
}

export interface ChunkResult {
  /** null: the budget ran out and there is more to do. */
  stop: BatchOutcome['stop'] | 'too-many-errors';
  run: BackfillRun;
  shard: BackfillShard;
  batches: number;
  rowsWritten: number;
  seconds: number;
  /** Present when the chunk ended held by the health throttle (backfill.throttle). */
  throttled?: ThrottleHold;
  /** The shard's batch size tuner, for its next chunk. */
  tuner: TunerState;
}

/**
 * A run as activities hand it to the workflow: without its batch size history (options.batchSizes, up to
 * 100 entries), which would otherwise ride in every chunk's result in the workflow's history.
 */
export function forWorkflow(run: BackfillRun): BackfillRun {
  if (!('batchSizes' in run.options)) return run;
  const options = { ...run.options };
  delete options.batchSizes;
  return { ...run, options };
}

function nonRetryable(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

/** Errors of SQLSTATE class 42 (missing table or column, no privilege) need a schema or grant fix, not retries. */
function permanentDatabaseError(err: unknown): unknown {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('42')) {
    return nonRetryable(
      `${(err as Error).message} (SQLSTATE ${code}): fix the repository schema or grants; a retry cannot`,
      'RepositorySchemaError',
    );
  }
  return err;
}

function alreadyRunning(other: BackfillRun | null): ApplicationFailure {
  const which = other
    ? `${other.runId} (${other.status}, workflow ${other.workflowId ?? '?'}, cursor ${other.cursor})`
    : 'a run that has just started';
  return nonRetryable(`another backfill run is active in ${other?.environment ?? 'this environment'}: ${which}`, 'BackfillAlreadyRunning');
}

export interface RunStatusChange {
  environment: string;
  runId: string;
  status: RunStatus;
  /** For the run history (options.note): who paused or resumed and why. */
  note?: string;
  /** Why the run ended: closed_reason of a final status (defaults to the note). */
  reason?: string;
}

/**
 * Changes a run's status; the one place a run is closed (workflow, reconciler, a start taking over), so every
 * close is counted in plan_backfill_runs_total exactly once, by whoever closed it first.
 */
export async function changeRunStatus(deps: WorkerActivityDeps, input: RunStatusChange): Promise<{ run: BackfillRun; changed: boolean }> {
  const { run, changed } = await setRunStatus(deps.databases.pool(input.environment), input.runId, input.status, input);
  if (changed && isFinalRunStatus(run.status)) {
    deps.metrics.backfillRunsTotal.inc({ environment: input.environment, status: run.status });
    if (run.status === 'completed' && run.mode !== 'dry-run')
      deps.metrics.backfillLastSuccess.set({ environment: input.environment }, Date.now() / 1000);
    if (run.mode !== 'dry-run') await refreshRepositoryRowsAfter(deps, input.environment, 'backfill');
    deps.logger.info({
      event: 'backfill_run_finished',
      environment: input.environment,
      runId: run.runId,
      status: run.status,
      reason: run.closedReason,
    });
  }
  return { run, changed };
}

/**
 * Checks the environment's running or paused run against Temporal: `owned` while its workflow still runs;
 * otherwise the run is closed here (the reconciler's check) with a status and reason from the workflow's
 * status, and returned as `closed`. `callerWorkflowId`: a starting workflow's id; a run left by an earlier
 * execution of that id is orphaned, although describe() reports the id as running (it is the caller).
 */
export async function reconcileActiveRun(
  deps: WorkerActivityDeps,
  environment: string,
  opts: { callerWorkflowId?: string } = {},
): Promise<{ owned: BackfillRun | null; closed: BackfillRun | null }> {
  const run = await activeRun(deps.databases.pool(environment), environment);
  if (!run) return { owned: null, closed: null };
  let closure;
  if (run.workflowId !== null && run.workflowId === opts.callerWorkflowId) {
    closure = {
      status: 'failed' as const,
      reason: `workflow ${run.workflowId} was started again: its earlier execution ended without closing the run`,
    };
  } else {
    const liveness = await deps.workflowLiveness(run.workflowId);
    if (liveness.running) return { owned: run, closed: null };
    closure = closureForClosedWorkflow(run.workflowId, liveness.status);
  }
  const { run: closed, changed } = await changeRunStatus(deps, {
    environment,
    runId: run.runId,
    status: closure.status,
    reason: closure.reason,
  });
  // Unchanged: its workflow closed it meanwhile, as it should.
  if (!changed) return { owned: null, closed: null };
  deps.logger.warn({ event: 'backfill_run_reconciled', environment, runId: run.runId, status: closed.status, reason: closed.closedReason });
  return { owned: null, closed };
}

/** The run that holds the environment: running or paused, and its workflow still runs. */
export async function blockingRun(
  deps: WorkerActivityDeps,
  environment: string,
  opts: { callerWorkflowId?: string } = {},
): Promise<BackfillRun | null> {
  return (await reconcileActiveRun(deps, environment, opts)).owned;
}

async function resolveStartCursor(deps: WorkerActivityDeps, input: StartRunInput): Promise<number> {
  if (!input.resumeFrom) return 0;
  const artifact = /^artifact:(\d+)$/.exec(input.resumeFrom);
  if (artifact) return Number(artifact[1]);
  const previous = await getRun(deps.databases.pool(input.environment), input.resumeFrom);
  if (!previous) throw nonRetryable(`resumeFrom: no backfill run "${input.resumeFrom}" in ${input.environment}`, 'InvalidResume');
  if (previous.environment !== input.environment) {
    throw nonRetryable(`resumeFrom: run ${input.resumeFrom} belongs to ${previous.environment}, not ${input.environment}`, 'InvalidResume');
  }
  if (previous.retryOf) {
    // Its cursor walks error ids, not the legacy range: continuing a range from it could skip artifacts.
    throw nonRetryable(
      `resumeFrom: run ${input.resumeFrom} retried the errors of run ${previous.retryOf}; to continue it, start --retry-errors ${previous.retryOf} again`,
      'InvalidResume',
    );
  }
  if (previous.mode === 'delta') {
    // Its cursor walks only artifacts changed since they were written: a range continued from it would skip the rest.
    throw nonRetryable(
      `resumeFrom: run ${input.resumeFrom} is an online cut-over delta, not a range run; a failed delta is retried by its migration (decide retry)`,
      'InvalidResume',
    );
  }
  return previous.cursor;
}

/** The earlier run whose errors a retry-errors run re-reads, checked; a refusal is final (no retry can fix it). */
async function retryTargetOf(pool: Queryable, environment: string, runId: string): Promise<RetryTarget> {
  try {
    return await retryTarget(pool, environment, runId);
  } catch (err) {
    if (err instanceof RetryRefusedError) throw nonRetryable(err.message, 'RetryRefused');
    throw err;
  }
}

export function createBackfillActivities(deps: WorkerActivityDeps) {
  const { metrics } = deps;

  /** input.shards, else the environment's backfill.shards; `auto`: the database's cores, as far as it tells. */
  async function shardCount(pool: ReturnType<typeof deps.databases.pool>, input: StartRunInput): Promise<number> {
    const configured = input.shards ?? getEnvironment(deps.config, input.environment).backfill.shards;
    if (configured !== 'auto') return configured;
    const server = await serverParallelism(pool);
    const cores = server.local ? os.availableParallelism() : server.parallelWorkersPerGather;
    return Math.min(Math.max(cores, 1), MAX_SHARDS);
  }

  async function startBackfillRun(input: StartRunInput): Promise<StartedRun> {
    getEnvironment(deps.config, input.environment);
    const pool = deps.databases.pool(input.environment);
    const existing = await getRun(pool, input.runId);
    if (existing) return { ...forWorkflow(existing), shards: (await listShards(pool, existing.runId)).length }; // a retry of this activity
    if (!(await legacyTableExists(pool))) {
      throw nonRetryable(`${input.environment} has no plan_artifacts table: nothing to backfill`, 'NoLegacyTable');
    }
    const retry = input.retryOf ? await retryTargetOf(pool, input.environment, input.retryOf) : null;
    const cursor = retry ? 0 : await resolveStartCursor(deps, input);
    const range = retry ? { upToId: retry.lastArtifactId, artifacts: retry.artifacts } : await legacyRangeAfter(pool, cursor, input.limit);
    if (!retry) {
      // The application's writes still open may hold ids below the range's end: they commit before the run starts.
      const unsettled = await waitForLegacyWriters(pool);
      if (unsettled)
        deps.logger.warn({ event: 'backfill_writers_unsettled', environment: input.environment, runId: input.runId, unsettled });
    }
    // A retry run walks its few error ids in one shard.
    const shards = retry ? [{ afterId: 0, upToId: range.upToId, artifacts: range.artifacts }] : await shardCount(pool, input);
    const create = () =>
      createShardedRun(
        pool,
        {
          runId: input.runId,
          environment: input.environment,
          workflowId: input.workflowId,
          mode: input.mode,
          options: { ...input.options, startCursor: cursor, resumeFrom: input.resumeFrom, shards: retry ? 1 : shards },
          cursor,
          upToId: range.upToId,
          artifactsTotal: range.artifacts,
          limit: input.limit,
          ...(input.retryOf && { retryOf: input.retryOf }),
        },
        shards,
      );
    let run: BackfillRun;
    try {
      run = await create();
    } catch (err) {
      if (!(err instanceof ActiveRunExistsError)) throw err;
      // The index refused us: the other run blocks only while its workflow runs; else close it and retry once.
      const blocking = await blockingRun(deps, input.environment, { callerWorkflowId: input.workflowId });
      if (blocking) throw alreadyRunning(blocking);
      try {
        run = await create();
      } catch (again) {
        if (again instanceof ActiveRunExistsError) throw alreadyRunning(await activeRun(pool, input.environment));
        throw again;
      }
    }
    const made = (await listShards(pool, run.runId)).length;
    deps.logger.info({
      event: 'backfill_run_started',
      environment: input.environment,
      runId: run.runId,
      mode: run.mode,
      cursor,
      upToId: range.upToId,
      total: range.artifacts,
      shards: made,
      ...(input.retryOf && { retryOf: input.retryOf }),
    });
    return { ...forWorkflow(run), shards: made };
  }

  function recordBatchMetrics(environment: string, outcome: BatchOutcome, mode: BackfillMode): void {
    const d = outcome.delta;
    const dryRun = mode === 'dry-run';
    if (!dryRun) {
      metrics.writeLatency.observe({ environment, operation: 'backfill_batch' }, outcome.seconds);
      metrics.writeTotal.inc({ environment, table: 'plan_versions' }, d.versionsWritten);
      metrics.writeTotal.inc({ environment, table: 'plans' }, d.plansWritten);
      metrics.writeTotal.inc({ environment, table: 'plan_series' }, d.seriesWritten);
      metrics.writeTotal.inc({ environment, table: 'plan_kpis' }, d.kpisWritten);
      metrics.writeTotal.inc({ environment, table: 'plan_events' }, d.eventsWritten);
      for (const [reason, n] of Object.entries(outcome.rejectsByReason)) metrics.writeErrorTotal.inc({ environment, reason }, n);
    }
    const outcomes: Record<BackfillOutcome, number> = {
      written: d.versionsWritten,
      skipped: d.versionsSkipped,
      rejected: d.versionsRejected,
      conflict: d.versionsConflicted,
    };
    for (const name of BACKFILL_OUTCOMES)
      metrics.backfillArtifactsTotal.inc({ environment, outcome: backfillOutcomeLabel(name, dryRun) }, outcomes[name]);
  }

  /**
   * Advances one shard: batches until the time budget is used, the shard or run ends or stops, or the
   * workflow cancels us. Pipelined: batch N+1 is read and transformed (outside any transaction) while batch
   * N is written; runBatch uses it only if it starts at the shard's committed cursor.
   */
  async function backfillChunk(input: ChunkInput): Promise<ChunkResult> {
    const pool = deps.databases.pool(input.environment);
    const shardNo = input.shard ?? 0;
    const ctx = activityContext();
    const started = Date.now();
    const elapsed = () => (Date.now() - started) / 1000;
    let batches = 0;
    let rowsWritten = 0;
    const found = await getRun(pool, input.runId);
    if (!found) throw nonRetryable(`backfill run ${input.runId} does not exist`, 'UnknownRun');
    let run: BackfillRun = found;
    if (shardNo === 0) await adoptUnshardedRun(pool, run);
    const foundShard = await getShard(pool, input.runId, shardNo);
    if (!foundShard) throw nonRetryable(`backfill run ${input.runId} has no shard ${shardNo}`, 'UnknownShard');
    let shard: BackfillShard = foundShard;
    let hold: ThrottleHold | null = input.throttle ?? null;
    // A retry resumes the tuner its failed attempt last heartbeated, and halves it: that attempt failed.
    const retried = ctx !== null && ctx.info.attempt > 1;
    const fromHeartbeat = retried ? (ctx.info.heartbeatDetails as { tuner?: TunerState } | undefined)?.tuner : undefined;
    let tuner: TunerState =
      fromHeartbeat ??
      input.tuner ??
      initialTuner({ ...getEnvironment(deps.config, input.environment).backfill.tuning, ...input.tuning, initialSize: input.batchSize });
    const details = () => ({
      runId: run.runId,
      shard: shardNo,
      cursor: shard.cursor,
      artifactsRead: shard.artifactsRead,
      tuner,
      ...(hold && { throttled: { reason: hold.reason, detail: hold.detail, seconds: Math.round(hold.seconds) } }),
    });
    const tune = async (step: TunerStep) => {
      tuner = step.state;
      const change = batchSizeChange(step, new Date().toISOString(), shardNo);
      if (!change) return;
      await recordBatchSizeChange(pool, input.runId, change);
      metrics.backfillBatchSize.set({ environment: input.environment }, tuner.size);
      deps.logger.info({
        event: 'backfill_batch_size',
        environment: input.environment,
        runId: input.runId,
        shard: shardNo,
        from: step.from,
        size: change.size,
        reason: change.reason,
      });
      heartbeat(details());
    };
    if (!fromHeartbeat && !input.tuner)
      await recordBatchSizeChange(pool, input.runId, { at: new Date().toISOString(), size: tuner.size, reason: 'initial', shard: shardNo });
    if (retried) await tune(observeError(tuner));
    const pinned = input.pinnedBatchSize ?? null;
    if (pinned !== null && (!tuner.pinned || tuner.size !== pinned)) await tune(pin(tuner, pinned));
    else if (pinned === null && tuner.pinned) await tune(release(tuner));
    metrics.backfillBatchSize.set({ environment: input.environment }, tuner.size);
    const gate: ThrottleGate = {
      pool,
      environment: input.environment,
      config: getEnvironment(deps.config, input.environment).backfill.throttle,
      metrics,
      env: deps.env,
      ctx,
      deadlineMs: started + input.timeBudgetMs,
      onHold: (next) => {
        if (next?.reason !== hold?.reason) {
          deps.logger.info({
            event: next ? 'backfill_throttled' : 'backfill_throttle_lifted',
            environment: input.environment,
            runId: run.runId,
            shard: shardNo,
            reason: next?.reason ?? hold?.reason,
            detail: next?.detail,
            heldSeconds: Math.round((next ?? hold)?.seconds ?? 0),
          });
        }
        hold = next;
        heartbeat(details());
      },
    };
    const result = (stop: ChunkResult['stop'], throttled?: ThrottleHold): ChunkResult => ({
      stop,
      run: forWorkflow(run),
      shard,
      tuner,
      batches,
      rowsWritten,
      seconds: elapsed(),
      ...(throttled && { throttled }),
    });
    let current: Prefetched | null = null;
    let next: Promise<Prefetched | null> | null = null;
    // Liveness even while one large batch is in flight; the details carry the last committed cursor.
    return withHeartbeat(details, async () => {
      try {
        if (run.status === 'running' && !shard.done) {
          const wait = await waitWhileThrottled(gate, hold);
          if (wait.waited || wait.held) await tune(observeThrottle(tuner));
          if (wait.held) return result(null, wait.held);
          current = await prefetchBatch(pool, shard, shard.cursor, tuner.size, run);
        }
        for (;;) {
          const writing = runBatch(pool, {
            runId: input.runId,
            shard: shardNo,
            environment: input.environment,
            batchSize: tuner.size,
            prefetched: current,
          });
          const end = current?.replay?.end ?? current?.artifacts.at(-1)?.id;
          // A failed read-ahead only costs the overlap: the batch is then read inside its transaction.
          if (end !== undefined && end < shard.upToId) next = prefetchBatch(pool, shard, end, tuner.size, run).catch(() => null);
          let outcome: BatchOutcome;
          try {
            outcome = await writing;
          } catch (err) {
            if (run.mode !== 'dry-run') metrics.writeErrorTotal.inc({ environment: input.environment, reason: 'db_error' });
            throw permanentDatabaseError(err);
          }
          run = outcome.run;
          shard = outcome.shard;
          if (outcome.stop) return result(outcome.stop);
          batches++;
          const d = outcome.delta;
          rowsWritten += d.versionsWritten + d.seriesWritten + d.kpisWritten + d.eventsWritten;
          recordBatchMetrics(input.environment, outcome, run.mode);
          await tune(observeBatch(tuner, { artifacts: d.artifactsRead, seconds: outcome.seconds, requested: outcome.requested }));
          heartbeat(details());
          if (run.errorsCount > input.maxErrors) return result('too-many-errors');
          if (ctx?.cancellationSignal.aborted) throw new CancelledFailure('backfill cancelled after a committed batch');
          if (Date.now() - started >= input.timeBudgetMs) return result(null);
          const wait = await waitWhileThrottled(gate, null);
          if (wait.waited || wait.held) await tune(observeThrottle(tuner));
          if (wait.held) return result(null, wait.held);
          const prefetched = next ? await next : null;
          // After a hold the read-ahead may be stale: the batch is then read inside its transaction.
          current = wait.waited ? null : prefetched;
          next = null;
        }
      } finally {
        await next;
      }
    });
  }

  async function setBackfillRunStatus(input: RunStatusChange): Promise<BackfillRun> {
    return forWorkflow((await changeRunStatus(deps, input)).run);
  }

  /** The error counts by reason and the first errors of a run, for failure messages. */
  async function backfillErrorsSample(input: { environment: string; runId: string; limit: number }) {
    return errorsSample(deps.databases.pool(input.environment), input.runId, input.limit);
  }

  return { startBackfillRun, backfillChunk, setBackfillRunStatus, backfillErrorsSample };
}
