/**
 * The self-tuning batch size (issue 10) through the real workflow and chunk activity: from a small start
 * it grows toward the target duration in steps of at most ×1.2, every size recorded in the run's history;
 * setBatchSize pins it (no tuning until released with "auto"), and the gauge shows the size in use.
 */
import { batchSizeHistory } from '../../db/batch-size-history';
import { MAX_GROWTH } from '../../model/batch-tuner';
import { progressQuery, setBatchSizeUpdate, type BackfillResult } from '../../workflows/definitions';
import { latestRun, runBackfill, seededDatabase, startBackfill, waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import { TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const DEMO = { plans: 80, versions: 10, series: 10, seed: 21 };
const TOTAL = DEMO.plans * DEMO.versions;
// Batches of a few small documents take milliseconds, far under a 2 s target: the tuner must grow.
const TUNING = { targetSeconds: 2, minBatchSize: 4, maxBatchSize: 600, enabled: true };

describe('backfill batch size tuning', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeEach(async () => {
    db = await seededDatabase(DEMO);
    harness = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: 'PLANDB_T_TUNE_URL', backfill: { tuning: TUNING } } }), {
      PLANDB_T_TUNE_URL: db.url,
    });
  });

  afterEach(async () => {
    await harness.close();
    await db.drop();
  });

  test('from a small start the size grows within its bounds, at most ×1.2 a step, each change in the run history', async () => {
    const result = await runBackfill(harness, { shards: 1, batchSize: 4 });
    expect(result).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: TOTAL, batchSizePinned: false }));
    const { changes } = await batchSizeHistory(db.pool, result.runId!);
    expect(changes[0]).toEqual(expect.objectContaining({ reason: 'initial', size: 4, shard: 0 }));
    const grows = changes.filter((c) => c.reason === 'grow');
    expect(grows.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < changes.length; i++) {
      const [before, after] = [changes[i - 1].size, changes[i].size];
      expect(after).toBeGreaterThanOrEqual(TUNING.minBatchSize);
      expect(after).toBeLessThanOrEqual(TUNING.maxBatchSize);
      if (changes[i].reason === 'grow') expect(after).toBeLessThanOrEqual(Math.max(before + 1, Math.floor(before * MAX_GROWTH)));
    }
    expect(result.batchSize).toBe(changes.at(-1)!.size);
    expect(result.batchSize).toBeGreaterThan(4);
    const gauge = (await harness.metrics.backfillBatchSize.get()).values.find((v) => v.labels.environment === 'dev');
    expect(gauge?.value).toBe(result.batchSize);
  });

  test('setBatchSize pins the size (the tuner leaves it alone) until "auto" releases it', async () => {
    await harness.run(async () => {
      const handle = await startBackfill(harness, { shards: 1, batchSize: 4, chunkBudgetMs: 200 });
      await waitFor(async () => ((await latestRun(db))?.artifactsRead ?? 0) > 20, 60_000, 'progress');
      await handle.executeUpdate(setBatchSizeUpdate, { args: [{ batchSize: 9 }] });
      const runId = (await latestRun(db))!.runId;
      const pinned = await waitFor(
        async () => (await batchSizeHistory(db.pool, runId)).changes.find((c) => c.reason === 'pin'),
        30_000,
        'the pin',
      );
      expect(pinned.size).toBe(9);
      const progress = await handle.query(progressQuery);
      expect(progress).toEqual(expect.objectContaining({ batchSize: 9, batchSizePinned: true }));
      // Long enough for several batches: none may change the pinned size.
      const readAtPin = (await latestRun(db))!.artifactsRead;
      await waitFor(async () => ((await latestRun(db))?.artifactsRead ?? 0) >= readAtPin + 5 * 9, 60_000, 'batches at the pinned size');
      expect(await handle.executeUpdate(setBatchSizeUpdate, { args: [{ batchSize: 'auto' }] })).toBe(9);
      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: TOTAL, batchSizePinned: false }));
      const { changes } = await batchSizeHistory(db.pool, runId);
      const pinAt = changes.findIndex((c) => c.reason === 'pin');
      const releaseAt = changes.findIndex((c) => c.reason === 'release');
      expect(releaseAt).toBeGreaterThan(pinAt);
      // Between the pin and its release only the pin speaks.
      expect(changes.slice(pinAt + 1, releaseAt)).toEqual([]);
    });
  });
});
