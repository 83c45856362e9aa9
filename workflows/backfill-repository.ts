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
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { PlandbActivities } from '../activities';
import type { ChunkResult } from '../activities/backfill';
import { isFinalRunStatus, type BackfillRun, type RunStatus } from '../model/backfill';
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
} from './definitions';
import { renderBackfillDetails, toProgress } from './backfill-progress';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from './search-attributes';

// Progress (query, UI details) refreshes when a chunk returns: often enough to watch, few history events.
const DEFAULT_CHUNK_BUDGET_MS = 10_000;

const control = proxyActivities<PlandbActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
});

const chunks = proxyActivities<PlandbActivities>({
  // A chunk works for its budget, then finishes its current batch; the heartbeat proves it is alive.
  // (Cancel does not wait for heartbeats: the workflow closes the run row, which the next batch reads.)
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20 },
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
  const mode = input.dryRun ? 'dry-run' : input.force ? 'force' : 'normal';
  const carried = input.carried;
  let batchSize = carried?.batchSize ?? input.batchSize ?? DEFAULT_BATCH_SIZE;
  let paused = carried?.paused ?? false;
  let chunkCount = carried?.chunks ?? 0;
  const startedAtMs = carried?.startedAtMs ?? Date.now();
  const continuedAsNew = carried?.continuedAsNew ?? 0;
  let chunksThisExecution = 0;
  let inFlight: Promise<unknown> | null = null;
  // The latest run row seen; `progress` reads it, the main loop replaces it.
  let latest: BackfillRun | null = null;
  // The health throttle's hold, handed from chunk to chunk so its backoff goes on.
  let throttle: ThrottleHold | null = carried?.throttle ?? null;

  const progress = (): BackfillProgress =>
    toProgress({ environment, mode, run: latest, paused, batchSize, chunks: chunkCount, continuedAsNew, startedAtMs, nowMs: Date.now(), throttle });
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
      const previous = batchSize;
      batchSize = batchSizeOf(input);
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

  try {
    let run: BackfillRun = carried
      ? await control.setBackfillRunStatus({ environment, runId: carried.runId, status: paused ? 'paused' : 'running' })
      : await control.startBackfillRun({
          environment,
          runId: uuid4(),
          workflowId: workflowInfo().workflowId,
          mode,
          limit: input.limit ?? null,
          resumeFrom: input.resumeFrom ?? null,
          options: { batchSize, maxErrors: input.maxErrors ?? DEFAULT_MAX_ERRORS, limit: input.limit ?? null },
        });
    latest = run;
    show('backfill');

    for (;;) {
      if (paused) {
        if (run.status !== 'paused') run = await setStatus(run.runId, 'paused', controlNote);
        await condition(() => !paused);
      }
      if (run.status === 'paused') run = await setStatus(run.runId, 'running', controlNote);

      let done = false;
      const chunk: Promise<ChunkResult> = chunks
        .backfillChunk({
          environment,
          runId: run.runId,
          batchSize,
          maxErrors: input.maxErrors ?? DEFAULT_MAX_ERRORS,
          timeBudgetMs: input.chunkBudgetMs ?? DEFAULT_CHUNK_BUDGET_MS,
          ...(throttle && { throttle }),
        })
        .finally(() => {
          done = true;
        });
      inFlight = chunk;
      await condition(() => done || paused);
      // A pause reaches the running chunk through the run's status: it stops after its current batch.
      if (!done) await setStatus(run.runId, 'paused', controlNote);
      const result = await chunk;
      run = result.run;
      latest = run;
      throttle = result.throttled ?? null;
      chunkCount++;
      chunksThisExecution++;
      show(run.status === 'running' ? 'backfill' : run.status);

      if (result.stop === 'done') {
        await setStatus(run.runId, 'completed');
        return progress();
      }
      if (result.stop === 'too-many-errors') {
        const message = await errorsMessage(run, input.maxErrors ?? DEFAULT_MAX_ERRORS);
        await setStatus(run.runId, 'failed', message);
        throw ApplicationFailure.nonRetryable(message, 'TooManyErrors');
      }
      if (result.stop && isFinalRunStatus(result.stop)) {
        // Someone else closed the run (an operator, in SQL): this workflow no longer owns it.
        throw ApplicationFailure.nonRetryable(`backfill run ${run.runId} was ${result.stop} outside this workflow`, 'RunClosed');
      }
      const forced = input.continueAsNewAfterChunks !== undefined && chunksThisExecution >= input.continueAsNewAfterChunks;
      if (forced || workflowInfo().continueAsNewSuggested) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof backfillRepository>({
          ...input,
          carried: {
            runId: run.runId,
            batchSize,
            paused,
            startedAtMs,
            chunks: chunkCount,
            continuedAsNew: continuedAsNew + 1,
            ...(throttle && { throttle }),
          },
        });
      }
    }
  } catch (err) {
    const open = latest && !isFinalRunStatus(latest.status) ? latest.runId : null;
    if (open && isCancellation(err)) {
      // Close the run first: the update waits only for the batch in flight (it holds the row FOR UPDATE),
      // and the chunk's next batch sees the status and stops; a heartbeat may take far longer to deliver
      // the cancel. Then wait for the chunk, so nothing is written after the workflow ends.
      await CancellationScope.nonCancellable(async () => {
        await setStatus(open, 'cancelled', undefined, 'workflow cancelled');
        await inFlight?.catch(() => undefined);
      });
    } else if (open && !(err instanceof ContinueAsNew)) {
      // A chunk out of retries (or any other failure): the run must not stay running. (continueAsNew throws
      // too: that execution hands the run on.)
      await setStatus(open, 'failed', undefined, `workflow failed: ${failureMessage(err)}`);
    }
    throw err;
  }
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
