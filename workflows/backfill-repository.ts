/**
 * backfillRepository: one backfill run of one environment, as a loop of backfillChunk activities.
 * The database holds the checkpoint (cursor and counters advance in each batch's transaction), so the
 * workflow carries only ids and counts: retries, worker crashes and continue-as-new all resume exactly.
 */
import {
  ActivityCancellationType,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { PlandbActivities } from '../activities';
import type { ChunkResult } from '../activities/backfill';
import { chunkTaskQueue, isFinalRunStatus, type BackfillRun, type BackfillShard, type RunStatus } from '../model/backfill';
import type { TunerState } from '../model/batch-tuner';
import type { ThrottleHold } from '../model/throttle';
import {
  BackfillInput,
  BackfillProgress,
  BackfillResult,
  batchSizeOf,
  checkBackfillInput,
  checkSetBatchSize,
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_ERRORS,
  pauseSignal,
  PauseRequest,
  progressQuery,
  refuseUpdate,
  resumeSignal,
  SetBatchSizeInput,
  setBatchSizeUpdate,
  type ShardProgress,
} from './definitions';
import { renderBackfillDetails, toProgress } from './backfill-progress';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from './search-attributes';

// Progress (query, UI details) refreshes when a chunk returns: often enough to watch, few history events.
const DEFAULT_CHUNK_BUDGET_MS = 10_000;

const control = proxyActivities<PlandbActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
});

// The bulk load's key and index build can take hours on a large first load: it heartbeats per step and
// every few seconds within one; its data failures are non-retryable, anything else resumes from the catalog.
const bulk = proxyActivities<PlandbActivities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// After a run stopped, the build is tried a few times only: if it still fails, the load stays pending and
// the worker's reconciler or the next start builds it; the run's own failure is what the workflow reports.
const bulkAfterStop = proxyActivities<PlandbActivities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
});

/** Chunk stubs on `taskQueue` (the workflow's own when absent, as executions before the chunk queue did). */
const chunksOn = (taskQueue?: string) =>
  proxyActivities<PlandbActivities>({
    // A chunk works for its budget, then finishes its current batch; the heartbeat proves it is alive.
    // (Cancel does not wait for heartbeats: the workflow closes the run row, which the next batch reads.)
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '20 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
    ...(taskQueue !== undefined && { taskQueue }),
  });

export async function backfillRepository(input: BackfillInput): Promise<BackfillResult> {
  const problems = checkBackfillInput(input);
  if (problems.length) throw ApplicationFailure.nonRetryable(`invalid backfillRepository input: ${problems.join('; ')}`, 'InvalidInput');
  // `carried` is continue-as-new state: from a fresh start it would adopt someone else's run past the guard.
  if (input.carried !== undefined && !workflowInfo().continuedFromExecutionRunId) {
    throw ApplicationFailure.nonRetryable(
      'invalid backfillRepository input: "carried" is internal continue-as-new state and is not accepted from a start; to continue an earlier run use "resumeFrom": "<run id>"',
      'InvalidInput',
    );
  }
  const { environment } = input;
  const mode = input.dryRun ? 'dry-run' : input.force ? 'force' : input.delta ? 'delta' : 'normal';
  const carried = input.carried;
  const maxErrors = input.maxErrors ?? DEFAULT_MAX_ERRORS;
  const batchSize = carried?.batchSize ?? input.batchSize ?? DEFAULT_BATCH_SIZE;
  let paused = carried?.paused ?? false;
  let chunkCount = carried?.chunks ?? 0;
  const startedAtMs = carried?.startedAtMs ?? Date.now();
  const continuedAsNew = carried?.continuedAsNew ?? 0;
  let chunksThisExecution = 0;
  // The freshest run row seen (its counters are the sums over all shards); `progress` reads it.
  let latest: BackfillRun | null = null;
  // Each shard's last state and health-throttle hold (handed from chunk to chunk so its backoff goes on).
  const shards = new Map<number, { state: BackfillShard | null; hold: ThrottleHold | null }>();
  const holdOf = (shard: number): ThrottleHold | null => (shard === 0 ? carried?.throttle : carried?.throttles?.[String(shard)]) ?? null;
  // Each shard's batch size tuner runs in its chunks (activities/backfill.ts); the workflow carries it along.
  const tuners = new Map<number, TunerState>(Object.entries(carried?.tuners ?? {}).map(([k, v]) => [Number(k), v]));
  let pinnedBatchSize: number | null = carried?.pinnedBatchSize ?? null;
  /** The size in use: the pin, else the first shard's tuner's, else the starting size. */
  const currentBatchSize = () => pinnedBatchSize ?? tuners.get(0)?.size ?? batchSize;

  const progress = (): BackfillProgress => {
    const list = [...shards.entries()].sort(([a], [b]) => a - b);
    const holds = list.map(([, s]) => s.hold).filter((h): h is ThrottleHold => h !== null);
    return {
      ...toProgress({
        environment,
        mode,
        run: latest,
        paused,
        batchSize: currentBatchSize(),
        chunks: chunkCount,
        continuedAsNew,
        startedAtMs,
        nowMs: Date.now(),
        throttle: holds[0] ?? null,
        predictedPerSecond: input.predictedArtifactsPerSecond ?? null,
      }),
      shards: list.flatMap(([, s]) => (s.state ? [shardProgress(s.state, s.hold)] : [])),
      batchSizePinned: pinnedBatchSize !== null,
      bulkLoad: bulkLoadReason === null ? null : { chosen: bulkLoad, reason: bulkLoadReason },
      ...(input.retryErrors !== undefined && { retryOf: input.retryErrors }),
      ...(latest?.catchUp && { catchUp: { pass: catchUpPass, ...latest.catchUp } }),
    };
  };
  const show = (step: string) => {
    upsertSearchAttributes([
      { key: PLAN_DB_ENVIRONMENT, value: environment },
      { key: PLAN_DB_STEP, value: step },
    ]);
    setCurrentDetails(renderBackfillDetails(progress()));
  };

  setHandler(progressQuery, progress);
  // Who paused or resumed, and why, goes into the run row's options.note (the run history).
  let controlNote: string | undefined;
  const noteOf = (verb: string, r?: PauseRequest) => `${verb} by ${r?.by ?? 'unknown'}${r?.reason ? `: ${r.reason}` : ''}`;
  setHandler(pauseSignal, (r?: PauseRequest) => {
    paused = true;
    controlNote = noteOf('paused', r);
  });
  setHandler(resumeSignal, (r?: PauseRequest) => {
    paused = false;
    controlNote = noteOf('resumed', r);
  });
  setHandler(
    setBatchSizeUpdate,
    (input: SetBatchSizeInput) => {
      const previous = currentBatchSize();
      // Each shard's next chunk pins its tuner (or releases it); a chunk in flight keeps its size until then.
      pinnedBatchSize = batchSizeOf(input);
      return previous;
    },
    {
      validator: (input: SetBatchSizeInput) => {
        const problem = checkSetBatchSize(input);
        if (problem) throw refuseUpdate(problem);
      },
    },
  );

  const setStatus = async (runId: string, status: RunStatus, note?: string, reason?: string): Promise<BackfillRun> => {
    latest = await control.setBackfillRunStatus({ environment, runId, status, note, reason });
    show(status === 'running' ? 'backfill' : status);
    return latest;
  };

  // Why the shards stop early: a shard hit maxErrors, someone else closed the run, or it is time to continue as new.
  let stopping: 'too-many-errors' | 'closed' | 'continue-as-new' | null = null;
  let closedAs: RunStatus | null = null;
  let failure: unknown = null;
  let loops: Promise<void> | null = null;
  // The first load's bulk path (activities/bulk-load.ts): chosen at the start, kept through continue-as-new.
  let bulkLoad = carried?.bulkLoad ?? false;
  let bulkLoadReason: string | null = carried?.bulkLoadReason ?? null;
  let bulkRunId: string | null = carried?.runId ?? null;
  // Catch-up passes (model/catch-up.ts): the pass in progress, and whether its bulk keys were built before pass 1.
  let catchUpPass = carried?.catchUp?.pass ?? 0;
  let bulkBuilt = carried?.catchUp?.bulkBuilt ?? false;

  try {
    const started = carried
      ? {
          run: await control.setBackfillRunStatus({ environment, runId: carried.runId, status: paused ? 'paused' : 'running' }),
          shards: carried.shards ?? 1,
        }
      : await control
          .startBackfillRun({
            environment,
            runId: uuid4(),
            workflowId: workflowInfo().workflowId,
            mode,
            limit: input.limit ?? null,
            resumeFrom: input.resumeFrom ?? null,
            options: { batchSize, maxErrors, limit: input.limit ?? null },
            ...(input.shards !== undefined && { shards: input.shards }),
            ...(input.retryErrors !== undefined && { retryOf: input.retryErrors }),
          })
          // Runs started before shards report none: one.
          .then((run) => ({ run, shards: run.shards ?? 1 }));
    const runId = started.run.runId;
    bulkRunId = runId;
    latest = started.run;
    // Executions recorded before the bulk path existed did not ask (their histories must replay). A retry of
    // errors writes a few versions, never on the bulk path.
    // A delta follows a backfill, so its repository is never empty: it asks nothing (recorded deltas asked).
    const mayBulkLoad = mode !== 'delta' || !patched('delta-skips-bulk-check');
    if (!carried && mode !== 'dry-run' && input.retryErrors === undefined && mayBulkLoad && patched('bulk-load-path')) {
      let check = await control.checkBulkLoad({ environment, runId });
      if (check.pendingRunId !== null && check.pendingRunId !== runId) {
        // An earlier run's bulk load was left unfinished (its workflow died): give the schema its keys first.
        show('bulk-build');
        await bulk.finishBulkLoad({ environment, runId });
        check = await control.checkBulkLoad({ environment, runId });
      }
      bulkLoadReason = check.reason;
      if (check.eligible) {
        bulkLoad = await control.prepareBulkLoad({ environment, runId }).then(
          () => true,
          (err: unknown) => {
            // The repository filled up between the check and the prepare: the per-batch path it is.
            if (failureType(err) !== 'BulkLoadRefused') throw err;
            bulkLoadReason = failureMessage(err);
            return false;
          },
        );
      }
    }
    // Chunks go to their own queue, where each worker's chunk cap spreads the shards (recorded
    // executions scheduled them on the workflow's queue and must replay so).
    const chunks = chunksOn(patched('chunk-task-queue') ? chunkTaskQueue(workflowInfo().taskQueue) : undefined);
    // The run row's status as this workflow last set it: shards start chunks only while it is running.
    let runPaused = latest.status === 'paused';
    for (let i = carried?.catchUp?.firstShard ?? 0; i < started.shards; i++) shards.set(i, { state: null, hold: holdOf(i) });
    show('backfill');

    /** One shard's chunks, one after another, until its range is done or the run stops. */
    const shardLoop = async (shard: number): Promise<void> => {
      const own = shards.get(shard)!;
      for (;;) {
        await condition(() => stopping !== null || (!paused && !runPaused));
        if (stopping) return;
        const result: ChunkResult = await chunks.backfillChunk({
          environment,
          runId,
          shard,
          batchSize,
          maxErrors,
          timeBudgetMs: input.chunkBudgetMs ?? DEFAULT_CHUNK_BUDGET_MS,
          ...(own.hold && { throttle: own.hold }),
          ...(tuners.has(shard) && { tuner: tuners.get(shard) }),
          ...(pinnedBatchSize !== null && { pinnedBatchSize }),
          ...(input.tuning && { tuning: input.tuning }),
        });
        own.state = result.shard;
        // Absent from chunks that ran before the tuner existed.
        if (result.tuner) tuners.set(shard, result.tuner);
        own.hold = result.throttled ?? null;
        if (!latest || result.run.artifactsRead >= latest.artifactsRead)
          latest = { ...result.run, status: latest?.status ?? result.run.status };
        chunkCount++;
        chunksThisExecution++;
        show(paused ? 'paused' : 'backfill');
        if (result.stop === 'done') return;
        if (result.stop === 'paused' && !paused) {
          // Paused outside this workflow (in SQL): adopt it, so a resume signal continues the run.
          paused = true;
          controlNote = 'paused outside this workflow';
        }
        if (result.stop === 'too-many-errors') stopping ??= 'too-many-errors';
        else if (result.stop && isFinalRunStatus(result.stop)) {
          closedAs ??= result.stop;
          stopping ??= 'closed';
        }
        const forced = input.continueAsNewAfterChunks !== undefined && chunksThisExecution >= input.continueAsNewAfterChunks;
        if (forced || workflowInfo().continueAsNewSuggested) stopping ??= 'continue-as-new';
      }
    };
    let settled = false;
    // Every shard runs to its end; the first failure stops the others (through `stopping` and the run's status).
    const launch = () => {
      settled = false;
      loops = Promise.all(
        [...shards.keys()].map((shard) =>
          shardLoop(shard).catch((err) => {
            failure ??= err;
            stopping ??= 'closed';
          }),
        ),
      ).then(() => {
        settled = true;
      });
    };
    launch();

    /**
     * Once every shard is done: the next catch-up pass over what the application appended meanwhile, if
     * the policy and the table say so (false: none). A first load's keys are built before it (the pass
     * writes on the per-batch path). Its shards replace the done ones; they run here, or in the next
     * execution when it is time to continue as new.
     */
    const catchUp = async (): Promise<boolean> => {
      const done = [...shards.values()].every((s) => s.state?.done);
      // A retry-errors run re-reads recorded errors only; a delta runs under maintenance, with no one appending.
      if (!done || mode === 'dry-run' || mode === 'delta' || input.limit !== undefined || input.retryErrors !== undefined) return false;
      if ((stopping !== null && stopping !== 'continue-as-new') || !patched('catch-up-passes')) return false;
      if (bulkLoad && !bulkBuilt) {
        show('bulk-build');
        await bulk.finishBulkLoad({ environment, runId });
        bulkBuilt = true;
      }
      show('catch-up');
      const step = await control.beginCatchUpPass({
        environment,
        runId,
        pass: catchUpPass + 1,
        ...(input.catchUp && { catchUp: input.catchUp }),
      });
      latest = { ...step.run, status: latest!.status };
      if (!step.started) return false;
      catchUpPass = step.started.pass;
      shards.clear();
      for (let i = step.started.firstShard; i < step.started.firstShard + step.started.shards; i++)
        shards.set(i, { state: null, hold: null });
      show(paused ? 'paused' : 'backfill');
      if (stopping === null) launch();
      return true;
    };

    // Meanwhile: carry pause and resume to the run row (each shard's next batch reads it), and close the run
    // at once when a shard fails, so the other shards stop after their current batch.
    for (;;) {
      await condition(
        () =>
          settled ||
          paused !== runPaused ||
          (failure !== null && !isFinalRunStatus(latest!.status)) ||
          (stopping === 'too-many-errors' && !isFinalRunStatus(latest!.status)),
      );
      if (failure !== null && !isFinalRunStatus(latest.status)) {
        await setStatus(runId, 'failed', undefined, `workflow failed: ${failureMessage(failure)}`);
      } else if (stopping === 'too-many-errors' && !isFinalRunStatus(latest.status)) {
        const message = await errorsMessage(latest, maxErrors);
        await setStatus(runId, 'failed', message);
        await loops;
        throw ApplicationFailure.nonRetryable(message, 'TooManyErrors');
      } else if (settled) {
        if (!(await catchUp()) || stopping === 'continue-as-new') break;
      } else if (paused && !runPaused) {
        await setStatus(runId, 'paused', controlNote);
        runPaused = true;
      } else if (!paused && runPaused) {
        await setStatus(runId, 'running', controlNote);
        runPaused = false;
      }
    }
    if (failure !== null) throw failure;
    if (stopping === 'closed') {
      // Someone else closed the run (an operator, in SQL): this workflow no longer owns it.
      throw ApplicationFailure.nonRetryable(`backfill run ${runId} was ${closedAs} outside this workflow`, 'RunClosed');
    }
    const allDone = [...shards.values()].every((s) => s.state?.done);
    if (stopping === 'continue-as-new' && !allDone) {
      await condition(allHandlersFinished);
      const throttles = Object.fromEntries([...shards.entries()].filter(([n, s]) => n > 0 && s.hold).map(([n, s]) => [String(n), s.hold!]));
      const hold0 = shards.get(0)?.hold;
      await continueAsNew<typeof backfillRepository>({
        ...input,
        carried: {
          runId,
          batchSize,
          paused,
          startedAtMs,
          chunks: chunkCount,
          continuedAsNew: continuedAsNew + 1,
          // Shards are numbered on through catch-up passes: the next execution runs firstShard … shards - 1.
          shards: Math.max(...shards.keys()) + 1,
          ...(catchUpPass > 0 && { catchUp: { pass: catchUpPass, firstShard: Math.min(...shards.keys()), bulkBuilt } }),
          ...(bulkLoad && { bulkLoad }),
          ...(bulkLoadReason !== null && { bulkLoadReason }),
          ...(hold0 && { throttle: hold0 }),
          ...(Object.keys(throttles).length && { throttles }),
          ...(tuners.size && { tuners: Object.fromEntries([...tuners.entries()].map(([n, t]) => [String(n), t])) }),
          ...(pinnedBatchSize !== null && { pinnedBatchSize }),
        },
      });
    }
    if (bulkLoad && !bulkBuilt) {
      // A completed run always leaves the schema the migrations define.
      show('bulk-build');
      await bulk.finishBulkLoad({ environment, runId });
    }
    await setStatus(runId, 'completed');
    return progress();
  } catch (err) {
    const open = latest && !isFinalRunStatus(latest.status) ? latest.runId : null;
    if (open && isCancellation(err)) {
      // Close the run first: a batch in flight then rolls back at its commit and the next one does not
      // start; a heartbeat may take far longer to deliver the cancel. Then wait for the chunks, so nothing
      // is written after the workflow ends.
      await CancellationScope.nonCancellable(async () => {
        await setStatus(open, 'cancelled', undefined, 'workflow cancelled');
        await loops?.catch(() => undefined);
      });
    } else if (open && !(err instanceof ContinueAsNew)) {
      // A chunk out of retries (or any other failure): the run must not stay running. (continueAsNew throws
      // too: that execution hands the run on.)
      await setStatus(open, 'failed', undefined, `workflow failed: ${failureMessage(err)}`);
    }
    if (bulkLoad && !bulkBuilt && bulkRunId && !(err instanceof ContinueAsNew)) {
      // Whatever ended the run, the repository gets its keys back, once no chunk writes any more. A build
      // that fails stays pending (bulkLoadState 'building') for the reconciler or the next start.
      const runId = bulkRunId;
      await CancellationScope.nonCancellable(async () => {
        await loops?.catch(() => undefined);
        await bulkAfterStop.finishBulkLoad({ environment, runId }).catch((e: unknown) => {
          log.error('bulk load build failed after the run ended', { environment, runId, error: failureMessage(e) });
        });
      });
    }
    throw err;
  }
}

/** The type of an ApplicationFailure, or of the one an activity failure carries. */
function failureType(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e instanceof ApplicationFailure) return e.type ?? undefined;
  }
  return undefined;
}

function shardProgress(s: BackfillShard, hold: ThrottleHold | null): ShardProgress {
  return {
    shard: s.shard,
    afterId: s.afterId,
    upToId: s.upToId,
    cursor: s.cursor,
    artifactsTotal: s.artifactsTotal,
    artifactsRead: s.artifactsRead,
    rowsWritten: s.rowsWritten,
    done: s.done,
    throttled: hold && { reason: hold.reason, detail: hold.detail, seconds: Math.round(hold.seconds) },
  };
}

/** An activity failure's own message is "Activity task failed": the cause says what happened. */
function failureMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = (e as { cause?: unknown }).cause) parts.push(e.message);
  return parts.join(': ');
}

async function errorsMessage(run: BackfillRun, maxErrors: number): Promise<string> {
  const sample = await control.backfillErrorsSample({ environment: run.environment, runId: run.runId, limit: 20 });
  const first = sample.first.map((e) => `artifact ${e.artifactId} (${e.planId} v${e.version}) ${e.reason}: ${e.message}`);
  return (
    `backfill run ${run.runId} failed: ${run.errorsCount} errors exceed maxErrors ${maxErrors} ` +
    `(by reason: ${sample.byReason.map((r) => `${r.reason} ${r.n}`).join(', ')}); first: ${first.join(' | ')}`
  );
}
