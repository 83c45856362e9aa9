import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { getRun } from '../../db/backfill-runs';
import { listShards } from '../../db/backfill-shards';
import { SEEDABLE_REJECT_REASONS } from '../../transform/demo-payloads';
import { progressQuery, setBatchSizeUpdate, pauseSignal, resumeSignal, BackfillResult } from '../../workflows/definitions';
import { expectShardsMatchCommittedData, latestRun, runBackfill, seededDatabase, startBackfill, waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import { TestDatabase } from '../support/database';
import { repositoryDigest } from '../support/repository';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const DEMO = { plans: 6, versions: 4, series: 8, bad: SEEDABLE_REJECT_REASONS.length, seed: 3 };
const TOTAL = DEMO.plans * DEMO.versions + DEMO.bad;
const VALID = DEMO.plans * DEMO.versions;

async function harnessFor(db: TestDatabase, envVar: string): Promise<TemporalHarness> {
  return createTemporalHarness(testConfig({ dev: { databaseUrlEnv: envVar } }), { [envVar]: db.url });
}

describe('backfillRepository modes', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeEach(async () => {
    db = await seededDatabase(DEMO);
    harness = await harnessFor(db, 'PLANDB_T_BF_URL');
  });
  afterEach(async () => {
    await harness?.close();
    await db?.drop();
  });

  test('dry-run counts equal what the real run then writes; the dry run wrote nothing', async () => {
    const dry = await runBackfill(harness, { dryRun: true, batchSize: 7 });
    expect(dry).toEqual(expect.objectContaining({ status: 'completed', mode: 'dry-run', artifactsRead: TOTAL, versionsWritten: VALID }));
    expect(dry.versionsRejected).toBe(DEMO.bad);
    expect(dry.plansWritten).toBe(DEMO.plans);
    expect(dry.seriesWritten).toBe(VALID * DEMO.series);
    expect(await repositoryDigest(db.pool)).toEqual(
      expect.objectContaining({ plans: 0, plan_versions: 0, plan_kpis: 0, plan_series: 0, plan_events: 0 }),
    );
    const dryRow = await getRun(db.pool, dry.runId!);
    expect(dryRow).toEqual(expect.objectContaining({ mode: 'dry-run', status: 'completed', versionsWritten: VALID }));

    const real = await runBackfill(harness, { batchSize: 7 });
    expect(real.status).toBe('completed');
    for (const k of [
      'artifactsRead',
      'versionsWritten',
      'versionsRejected',
      'plansWritten',
      'seriesWritten',
      'kpisWritten',
      'eventsWritten',
    ] as const) {
      expect([k, real[k]]).toEqual([k, dry[k]]);
    }
    const digest = await repositoryDigest(db.pool);
    expect(digest).toEqual(
      expect.objectContaining({
        plans: DEMO.plans,
        plan_versions: VALID,
        plan_series: real.seriesWritten,
        plan_kpis: real.kpisWritten,
        plan_events: real.eventsWritten,
      }),
    );
  });

  test('normal after force skips everything; a changed payload is a conflict; force rewrites it', async () => {
    const forced = await runBackfill(harness, { force: true });
    expect(forced.versionsWritten).toBe(VALID);
    const afterForce = await repositoryDigest(db.pool);

    const normal = await runBackfill(harness, {});
    expect(normal).toEqual(
      expect.objectContaining({ status: 'completed', versionsWritten: 0, versionsSkipped: VALID, versionsConflicted: 0 }),
    );
    expect(await repositoryDigest(db.pool)).toEqual(afterForce);

    await db.pool.query(
      `UPDATE plan_artifacts SET payload = jsonb_set(payload, '{name}', '"renamed"') WHERE plan_id = 'plan-00002' AND version = 3`,
    );
    const conflicted = await runBackfill(harness, {});
    expect(conflicted).toEqual(
      expect.objectContaining({ status: 'completed', versionsSkipped: VALID - 1, versionsConflicted: 1, versionsWritten: 0 }),
    );
    const conflict = await db.pool.query(
      `SELECT plan_id, version, reason, detail FROM plan_backfill_errors WHERE run_id = $1 AND reason = 'conflict'`,
      [conflicted.runId],
    );
    expect(conflict.rows).toEqual([expect.objectContaining({ plan_id: 'plan-00002', version: 3 })]);
    expect(conflict.rows[0].detail.message).toMatch(/already in the repository with different content/);
    const unchanged = await db.pool.query(`SELECT name FROM plan_versions WHERE plan_id = 'plan-00002' AND version = 3`);
    expect(unchanged.rows[0].name).not.toBe('renamed');

    const rewritten = await runBackfill(harness, { force: true });
    expect(rewritten.versionsWritten).toBe(VALID);
    const now = await db.pool.query(`SELECT name FROM plan_versions WHERE plan_id = 'plan-00002' AND version = 3`);
    expect(now.rows[0].name).toBe('renamed');
    const after = await repositoryDigest(db.pool);
    expect(after.plan_series).toBe(afterForce.plan_series); // children replaced, not duplicated
    expect(after.plan_series_md5).toBe(afterForce.plan_series_md5);
    expect(await runBackfill(harness, {})).toEqual(expect.objectContaining({ versionsSkipped: VALID, versionsConflicted: 0 }));
  });

  test('limit 5 processes exactly 5 artifacts; resume from a run id and from artifact:<id> continue after the checkpoint', async () => {
    const ids = (await db.pool.query(`SELECT id FROM plan_artifacts ORDER BY id`)).rows.map((r) => Number(r.id));
    const sample = await runBackfill(harness, { limit: 5, batchSize: 2 });
    expect(sample).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: 5, artifactsTotal: 5, cursor: ids[4] }));

    const resumed = await runBackfill(harness, { resumeFrom: sample.runId, limit: 6 });
    expect(resumed).toEqual(expect.objectContaining({ artifactsRead: 6, cursor: ids[10] }));
    const firstEleven = await db.pool.query(`SELECT count(*)::int AS n FROM plan_versions WHERE source_artifact_id <= $1`, [ids[10]]);
    const rejectedInFirstEleven = await db.pool.query(`SELECT count(*)::int AS n FROM plan_backfill_errors WHERE artifact_id <= $1`, [
      ids[10],
    ]);
    expect(firstEleven.rows[0].n + rejectedInFirstEleven.rows[0].n).toBe(11);

    const fromArtifact = await runBackfill(harness, { resumeFrom: `artifact:${ids[20]}` });
    expect(fromArtifact).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: TOTAL - 21, cursor: ids[TOTAL - 1] }));
    const gap = await db.pool.query(
      `SELECT count(*)::int AS n FROM plan_versions WHERE source_artifact_id > $1 AND source_artifact_id <= $2`,
      [ids[10], ids[20]],
    );
    expect(gap.rows[0].n).toBe(0);
  });

  test('every reject code lands in plan_backfill_errors; the run goes on', async () => {
    const result = await runBackfill(harness, {});
    expect(result.status).toBe('completed');
    const reasons = await db.pool.query(`SELECT DISTINCT reason FROM plan_backfill_errors WHERE run_id = $1 ORDER BY reason`, [
      result.runId,
    ]);
    expect(reasons.rows.map((r) => r.reason)).toEqual([...SEEDABLE_REJECT_REASONS].sort());
    const row = await getRun(db.pool, result.runId!);
    expect(row!.errors).toHaveLength(DEMO.bad);
    expect(row!.errors[0]).toEqual(
      expect.objectContaining({ reason: expect.any(String), message: expect.any(String), artifactId: expect.any(Number) }),
    );
  });

  test('maxErrors fails the run with a message naming the count and the first reasons', async () => {
    const err: unknown = await runBackfill(harness, { maxErrors: 3, batchSize: 50 }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const message = (err as WorkflowFailedError).cause?.message ?? '';
    // The shard that passed maxErrors stops the run; how many errors the other shards committed by then varies.
    const counted = Number(/failed: (\d+) errors exceed maxErrors 3/.exec(message)?.[1]);
    expect(counted).toBeGreaterThan(3);
    expect(message).toMatch(/first: artifact \d+ \(plan-\d+ v\d+\) \w+/);
    const run = await latestRun(db);
    expect(run).toEqual(expect.objectContaining({ status: 'failed' }));
    expect(run!.errorsCount).toBeGreaterThanOrEqual(counted);
    expect(run!.errorsCount).toBeLessThanOrEqual(DEMO.bad);
  });

  test('an invalid input fails at once naming the field', async () => {
    const err: unknown = await runBackfill(harness, { batchSize: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toMatch(/"batchSize" must be a whole number from 1 to 50000, got 0/);
  });

  test('continue-as-new carries the run: forced after every chunk, the result equals a single execution', async () => {
    const result = await runBackfill(harness, { batchSize: 3, chunkBudgetMs: 1, continueAsNewAfterChunks: 1 });
    expect(result.status).toBe('completed');
    expect(result.continuedAsNew).toBeGreaterThanOrEqual(5);
    expect(result.artifactsRead).toBe(TOTAL);
    expect(result.versionsWritten).toBe(VALID);
    const digest = await repositoryDigest(db.pool);
    expect(digest.plan_versions).toBe(VALID);
  });
});

describe('backfillRepository controls: pause, resume, cancel, setBatchSize', () => {
  const BIG = { plans: 40, versions: 5, series: 20, seed: 11 };
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeEach(async () => {
    db = await seededDatabase(BIG);
    harness = await harnessFor(db, 'PLANDB_T_BFC_URL');
  });
  afterEach(async () => {
    await harness?.close();
    await db?.drop();
  });

  const cursorOf = async (runId: string) => (await getRun(db.pool, runId))!;

  test('pause stops progress after the batch in flight; resume continues to the end', async () => {
    await harness.run(async () => {
      const handle = await startBackfill(harness, { batchSize: 2 });
      const started = await waitFor(async () => {
        const run = await latestRun(db);
        return run && run.cursor > 0 ? run : null;
      });
      await handle.signal(pauseSignal, { by: 'test' });
      await waitFor(async () => (await cursorOf(started.runId)).status === 'paused');
      // The batches in flight when the pause landed commit; after that nothing moves.
      await new Promise((r) => setTimeout(r, 1000));
      const paused = await cursorOf(started.runId);
      await new Promise((r) => setTimeout(r, 1500));
      const later = await cursorOf(started.runId);
      expect(later.cursor).toBe(paused.cursor);
      expect(later.artifactsRead).toBeLessThan(BIG.plans * BIG.versions);
      const progress = await handle.query(progressQuery);
      expect(progress).toEqual(expect.objectContaining({ paused: true, status: 'paused', cursor: paused.cursor }));

      await handle.signal(resumeSignal, { by: 'test' });
      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(
        expect.objectContaining({
          status: 'completed',
          artifactsRead: BIG.plans * BIG.versions,
          versionsWritten: BIG.plans * BIG.versions,
        }),
      );
    });
  });

  test('setBatchSize takes {batchSize: N} or a bare N, and refuses bad input with a one-line non-retryable InvalidUpdate', async () => {
    await harness.run(async () => {
      const handle = await startBackfill(harness, { batchSize: 2 });
      await waitFor(async () => ((await latestRun(db))?.cursor ?? 0) > 0);
      const refusal = async (input: unknown): Promise<ApplicationFailure> => {
        // `as never`: the type says what callers should send; these are what a careless caller might.
        const err: unknown = await handle.executeUpdate(setBatchSizeUpdate, { args: [input as never] }).catch((e) => e);
        expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
        const cause = (err as WorkflowUpdateFailedError).cause;
        expect(cause).toBeInstanceOf(ApplicationFailure);
        expect((cause as ApplicationFailure).type).toBe('InvalidUpdate');
        expect((cause as ApplicationFailure).nonRetryable).toBe(true);
        expect(cause!.message).not.toMatch(/\n/);
        return cause as ApplicationFailure;
      };
      expect((await refusal(0)).message).toBe('batchSize must be a whole number from 1 to 50000, got 0');
      expect((await refusal({ batchSize: 50_001 })).message).toBe('batchSize must be a whole number from 1 to 50000, got 50001');
      expect((await refusal({ batchSize: '7' })).message).toBe('batchSize must be a whole number from 1 to 50000, got "7"');
      expect((await refusal({ size: 7 })).message).toBe('setBatchSize takes {"batchSize": N} or {"batchSize": "auto"}: unknown field "size"');
      expect(await handle.executeUpdate(setBatchSizeUpdate, { args: [{ batchSize: 3 }] })).toBe(2);
      expect((await handle.query(progressQuery)).batchSize).toBe(3);
      // A bare number, as running executions' callers and older clients send it.
      expect(await handle.executeUpdate(setBatchSizeUpdate, { args: [25] })).toBe(3);
      expect((await handle.query(progressQuery)).batchSize).toBe(25);
      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(expect.objectContaining({ status: 'completed', batchSize: 25 }));
    });
  });

  test('cancel stops every shard after its current batch and records the run as cancelled', async () => {
    await harness.run(async () => {
      const handle = await startBackfill(harness, { batchSize: 2, shards: 3 });
      const started = await waitFor(async () => {
        const run = await latestRun(db);
        return run && run.cursor > 0 ? run : null;
      });
      await handle.cancel();
      const err: unknown = await handle.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      const run = await cursorOf(started.runId);
      expect(run.status).toBe('cancelled');
      expect(run.finishedAt).not.toBeNull();
      await new Promise((r) => setTimeout(r, 500));
      expect((await cursorOf(started.runId)).cursor).toBe(run.cursor);
      // What was committed is exactly each shard's batches up to its cursor: nothing beyond, nothing missing.
      expect((await listShards(db.pool, started.runId)).length).toBeGreaterThan(1);
      await expectShardsMatchCommittedData(db, started.runId);
    });
  });
});
