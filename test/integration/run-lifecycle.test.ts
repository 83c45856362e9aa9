/**
 * The backfill run lifecycle against real PostgreSQL and Temporal: every run ends completed, failed,
 * cancelled or terminated (by its workflow, or by the reconciler once Temporal reports the workflow
 * closed), one run per environment holds under simultaneous starts and long pauses, `carried` is refused
 * from a fresh start, and a cancel reaches a running chunk within one batch.
 */
import { WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { BackfillRun, getRun } from '../../db/backfill-runs';
import { bulkLoadState } from '../../db/bulk-load';
import { pauseSignal } from '../../workflows/definitions';
import { expectShardsMatchCommittedData, latestRun, seededDatabase, startBackfill, uniqueWorkflowId, waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import { TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const URL_VAR = 'PLANDB_T_LIFECYCLE_URL';
const DEMO = { plans: 30, versions: 4, series: 5, seed: 17 };

async function harnessFor(db: TestDatabase): Promise<TemporalHarness> {
  return createTemporalHarness(testConfig({ dev: { databaseUrlEnv: URL_VAR } }), { [URL_VAR]: db.url });
}

async function runsTotal(harness: TemporalHarness, status: string): Promise<number> {
  const metric = await harness.metrics.backfillRunsTotal.get();
  return metric.values.find((v) => v.labels.environment === 'dev' && v.labels.status === status)?.value ?? 0;
}

async function runRows(db: TestDatabase): Promise<BackfillRun[]> {
  const res = await db.pool.query(`SELECT run_id FROM plan_backfill_runs ORDER BY started_at`);
  return Promise.all(res.rows.map(async (r) => (await getRun(db.pool, r.run_id))!));
}

/** A backfill started paused: its run row stays `paused` while the workflow waits for a resume. */
async function startPaused(harness: TemporalHarness, opts: { workflowExecutionTimeout?: string } = {}): Promise<WorkflowHandle> {
  return harness.client.workflow.signalWithStart('backfillRepository', {
    workflowId: uniqueWorkflowId('bf-life'),
    taskQueue: harness.taskQueue,
    args: [{ environment: 'dev' }],
    signal: pauseSignal,
    signalArgs: [{ by: 'test' }],
    ...opts,
  });
}

async function pausedRunOf(db: TestDatabase, handle: WorkflowHandle): Promise<BackfillRun> {
  return waitFor(
    async () => (await runRows(db)).find((r) => r.workflowId === handle.workflowId && r.status === 'paused'),
    30_000,
    `a paused run of ${handle.workflowId}`,
  );
}

/** The workflow's failure: the first ApplicationFailure of its cause chain (the activity's, when one failed it). */
async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err: unknown = await handle.result().catch((e) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  let cause: unknown = (err as WorkflowFailedError).cause;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure)) cause = cause.cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

/** Terminates what a test left running, so no workflow outlives its test. */
async function terminateAll(...handles: WorkflowHandle[]): Promise<void> {
  for (const h of handles) {
    if ((await h.describe()).status.name === 'RUNNING') await h.terminate('test over');
  }
}

async function closedRun(db: TestDatabase, runId: string, timeoutMs = 60_000): Promise<BackfillRun> {
  return waitFor(
    async () => {
      const run = await getRun(db.pool, runId);
      return run && !['running', 'paused'].includes(run.status) ? run : null;
    },
    timeoutMs,
    `run ${runId} to be closed`,
  );
}

describe('backfill run lifecycle', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeEach(async () => {
    db = await seededDatabase(DEMO);
    harness = await harnessFor(db);
  });
  afterEach(async () => {
    await harness?.close();
    await db?.drop();
  });

  test("a chunk's final failure closes the run failed with the reason, counted in plan_backfill_runs_total", async () => {
    await harness.run(async () => {
      const handle = await startBackfill(harness, { batchSize: 5 });
      const running = await waitFor(async () => {
        const run = await latestRun(db);
        return run && run.artifactsRead > 0 ? run : null;
      });
      // A fault no retry fixes: the next batch cannot write its series.
      await db.pool.query(`ALTER TABLE plan_series RENAME TO plan_series_gone`);
      const failure = await failureOf(handle);
      expect(failure.message).toMatch(/plan_series/);
      const run = (await getRun(db.pool, running.runId))!;
      expect(run.status).toBe('failed');
      expect(run.finishedAt).not.toBeNull();
      expect(run.closedReason).toMatch(/^workflow failed: .*relation "plan_series" does not exist/);
      expect(await runsTotal(harness, 'failed')).toBe(1);
    });
  });

  test('a terminated workflow: the reconciler closes its run terminated, with the reason, counted', async () => {
    await harness.run(async () => {
      const handle = await startPaused(harness);
      const paused = await pausedRunOf(db, handle);
      await handle.terminate('test: operator terminated it');
      const run = await closedRun(db, paused.runId);
      expect(run).toEqual(expect.objectContaining({ status: 'terminated', closedReason: `workflow ${handle.workflowId} was terminated` }));
      expect(await runsTotal(harness, 'terminated')).toBe(1);
      // Its first load took the bulk path: the reconciler builds the keys the terminated workflow never did.
      expect(run.options.bulkLoad).toBeDefined();
      await waitFor(async () => (await bulkLoadState(db.pool)) === 'none', 60_000, 'the orphaned bulk load to be built');
      expect(await runsTotal(harness, 'failed')).toBe(0);
    });
  });

  test('a workflow that timed out: the reconciler closes its run failed, the reason naming the timeout', async () => {
    await harness.run(async () => {
      const handle = await startPaused(harness, { workflowExecutionTimeout: '4s' });
      const paused = await pausedRunOf(db, handle);
      const run = await closedRun(db, paused.runId);
      expect(run).toEqual(expect.objectContaining({ status: 'failed', closedReason: `workflow ${handle.workflowId} timed out` }));
      expect(await runsTotal(harness, 'failed')).toBe(1);
    });
  });

  test('four simultaneous starts with different workflow ids: one run, the others fail BackfillAlreadyRunning', async () => {
    await harness.run(async () => {
      const handles = await Promise.all([1, 2, 3, 4].map(() => startPaused(harness)));
      try {
        const statuses = await waitFor(async () => {
          const names = await Promise.all(handles.map(async (h) => (await h.describe()).status.name));
          return names.filter((n) => n === 'FAILED').length === handles.length - 1 ? names : null;
        });
        const winner = handles[statuses.indexOf('RUNNING')];
        const winnerRun = await pausedRunOf(db, winner);
        for (const loser of handles.filter((h) => h !== winner)) {
          const failure = await failureOf(loser);
          expect(failure.type).toBe('BackfillAlreadyRunning');
          expect(failure.message).toContain(winnerRun.runId);
          expect(failure.message).toContain(winner.workflowId);
        }
        const rows = await runRows(db);
        expect(rows.map((r) => [r.workflowId, r.status])).toEqual([[winner.workflowId, 'paused']]);
      } finally {
        await terminateAll(...handles);
      }
    });
  });

  test('a paused run an hour without writes still blocks a new start while its workflow runs', async () => {
    await harness.run(async () => {
      const first = await startPaused(harness);
      try {
        const paused = await pausedRunOf(db, first);
        await db.pool.query(`UPDATE plan_backfill_runs SET updated_at = now() - interval '1 hour' WHERE run_id = $1`, [paused.runId]);
        const second = await startBackfill(harness, {});
        const failure = await failureOf(second);
        expect(failure.type).toBe('BackfillAlreadyRunning');
        expect(failure.message).toContain(paused.runId);
        expect(failure.message).toContain(first.workflowId);
        expect((await getRun(db.pool, paused.runId))!.status).toBe('paused');
        expect(await runRows(db)).toHaveLength(1);
      } finally {
        await terminateAll(first);
      }
    });
  });

  test('the run of a terminated workflow does not block the next start', async () => {
    await harness.run(async () => {
      const first = await startPaused(harness);
      const paused = await pausedRunOf(db, first);
      await first.terminate('test: gone');
      const result = await (await startBackfill(harness, {})).result();
      expect(result).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: DEMO.plans * DEMO.versions }));
      expect((await getRun(db.pool, paused.runId))!.status).toBe('terminated');
    });
  });

  test('capacity trim: refused while a paused backfill (an hour without writes) still runs, allowed once its workflow is terminated', async () => {
    const trim = () =>
      harness.client.workflow.start('capacityTrim', {
        workflowId: uniqueWorkflowId('trim-life'),
        taskQueue: harness.taskQueue,
        args: [{ environment: 'dev', maxRows: 1 }],
      });
    await harness.run(async () => {
      const backfill = await startPaused(harness);
      try {
        const paused = await pausedRunOf(db, backfill);
        await db.pool.query(`UPDATE plan_backfill_runs SET updated_at = now() - interval '1 hour' WHERE run_id = $1`, [paused.runId]);
        const refused = await failureOf(await trim());
        // Its first load took the bulk path, so the trim is refused for the keys that run has dropped.
        expect(refused.type).toBe('BulkLoadPending');
        expect(refused.message).toContain(paused.runId);
        await backfill.terminate('test: gone');
        // The reconciler closes the terminated run, then builds its bulk load's keys (a trim is refused till then).
        await waitFor(async () => (await bulkLoadState(db.pool)) === 'none', 60_000, 'the orphaned bulk load to be built');
        // Nothing backfilled yet: the trim finds plan_series within maxRows and succeeds.
        expect(await (await trim()).result()).toEqual(expect.objectContaining({ rowsTrimmed: 0 }));
        expect((await getRun(db.pool, paused.runId))!.status).toBe('terminated');
      } finally {
        await terminateAll(backfill);
      }
    });
  });

  test('"carried" from a fresh start is refused as InvalidInput; the run it names is untouched', async () => {
    await harness.run(async () => {
      const owner = await startPaused(harness);
      try {
        const paused = await pausedRunOf(db, owner);
        const intruder = await startBackfill(harness, { carried: { runId: paused.runId } });
        const failure = await failureOf(intruder);
        expect(failure.type).toBe('InvalidInput');
        expect(failure.message).toMatch(/"carried" is internal continue-as-new state/);
        const after = (await getRun(db.pool, paused.runId))!;
        expect(after).toEqual(expect.objectContaining({ status: 'paused', workflowId: owner.workflowId, cursor: paused.cursor }));
      } finally {
        await terminateAll(owner);
      }
    });
  });
});

describe('cancel of a running chunk', () => {
  // Bench-shaped batches: 500 artifacts of 100 series rows each take about a second to write.
  const BIG = { plans: 40, versions: 50, series: 100, seed: 23 };
  const BATCH = 500;
  const SHARDS = 2;
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeAll(async () => {
    db = await seededDatabase(BIG);
    harness = await harnessFor(db);
  });
  afterAll(async () => {
    await harness?.close();
    await db?.drop();
  });

  test('the run is cancelled within 5 s of the request, with at most the batch in flight and one more per shard written after it', async () => {
    await harness.run(async () => {
      const handle = await startBackfill(harness, { batchSize: BATCH, shards: SHARDS });
      const running = await waitFor(async () => {
        const run = await latestRun(db);
        return run && run.artifactsRead >= BATCH ? run : null;
      });
      const atRequest = (await getRun(db.pool, running.runId))!;
      const requestedAt = Date.now();
      await handle.cancel();
      const cancelled = await waitFor(
        async () => {
          const run = await getRun(db.pool, running.runId);
          return run && run.status !== 'running' ? run : null;
        },
        30_000,
        'the run to leave running',
      );
      const latencyMs = Date.now() - requestedAt;
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.closedReason).toBe('workflow cancelled');
      expect(latencyMs).toBeLessThanOrEqual(5_000);
      await handle.result().catch(() => undefined);
      const final = (await getRun(db.pool, running.runId))!;
      // Per shard: the batch in flight at the request, and one that began before the close landed (a batch
      // still writing when the run closes rolls back).
      expect(final.artifactsRead - atRequest.artifactsRead).toBeLessThanOrEqual(2 * SHARDS * BATCH);
      expect(final.artifactsRead).toBeLessThan(BIG.plans * BIG.versions);
      // Nothing beyond each shard's committed cursor: every shard stopped at a batch boundary.
      await expectShardsMatchCommittedData(db, running.runId);
      expect(await runsTotal(harness, 'cancelled')).toBe(1);
      // The first load took the bulk path: the cancelled workflow built the keys back before it ended.
      expect(final.options.bulkLoad).toBeDefined();
      expect(await bulkLoadState(db.pool)).toBe('none');
    });
  });
});
