import { batchSizeHistory, HISTORY_KEEP, recordBatchSizeChange, type BatchSizeChange } from '../../db/batch-size-history';
import { createRun, getRun, setRunStatus } from '../../db/backfill-runs';
import { withClient } from '../../db/connection';
import { upgrade } from '../../db/migrator';
import { waitFor } from '../support/backfill';
import { createTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let runs = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  await withClient(db.pool, (c) => upgrade(c));
});
afterAll(async () => {
  await db.drop();
});

/** A run row as the backfill's start activity creates it, closed again so the next test may create one. */
async function newRun(): Promise<string> {
  const runId = `history-${++runs}`;
  await createRun(db.pool, {
    runId,
    environment: 'dev',
    workflowId: null,
    mode: 'normal',
    options: { batchSize: 500, maxErrors: 1000, limit: null },
    cursor: 0,
    upToId: 1000,
    artifactsTotal: 1000,
    limit: null,
  });
  await setRunStatus(db.pool, runId, 'completed');
  return runId;
}

const change = (size: number, extra: Partial<BatchSizeChange> = {}): BatchSizeChange => ({
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, size % 60)).toISOString(),
  size,
  reason: 'grow',
  ...extra,
});

describe('batch size history in the run row', () => {
  test('appends changes in order, shard included when given, next to the run options it leaves alone', async () => {
    const runId = await newRun();
    expect(await batchSizeHistory(db.pool, runId)).toEqual({ changes: [], total: 0 });
    const changes = [change(500, { reason: 'initial' }), change(600, { shard: 0 }), change(300, { reason: 'throttle', shard: 1 }), change(20, { reason: 'pin' })];
    for (const c of changes) await recordBatchSizeChange(db.pool, runId, c);
    expect(await batchSizeHistory(db.pool, runId)).toEqual({ changes, total: 4 });
    const run = await getRun(db.pool, runId);
    expect(run?.options).toMatchObject({ batchSize: 500, maxErrors: 1000, batchSizeChanges: 4 });
    // A status change's note merges into the same options: the history survives it.
    await setRunStatus(db.pool, runId, 'failed', { note: 'closed again' });
    expect((await batchSizeHistory(db.pool, runId)).total).toBe(4);
  });

  test(`keeps the first and the last ${HISTORY_KEEP} changes and counts all of them`, async () => {
    const runId = await newRun();
    const n = 2 * HISTORY_KEEP + 30;
    for (let size = 1; size <= n; size++) await recordBatchSizeChange(db.pool, runId, change(size));
    const history = await batchSizeHistory(db.pool, runId);
    expect(history.total).toBe(n);
    const first = Array.from({ length: HISTORY_KEEP }, (_, i) => i + 1);
    const last = Array.from({ length: HISTORY_KEEP }, (_, i) => n - HISTORY_KEEP + 1 + i);
    expect(history.changes.map((c) => c.size)).toEqual([...first, ...last]);
    // The row stays small however long the run tunes.
    const bytes = await db.pool.query<{ n: number }>(`SELECT pg_column_size(options) AS n FROM plan_backfill_runs WHERE run_id = $1`, [runId]);
    expect(bytes.rows[0].n).toBeLessThan(16_384);
  });

  test('concurrent appends (shards on their own connections) lose none', async () => {
    const runId = await newRun();
    const perShard = 30;
    await Promise.all(
      [0, 1, 2].map(async (shard) => {
        for (let i = 0; i < perShard; i++) await recordBatchSizeChange(db.pool, runId, change(1000 * (shard + 1) + i, { shard }));
      }),
    );
    const history = await batchSizeHistory(db.pool, runId);
    expect(history.total).toBe(3 * perShard);
    for (const shard of [0, 1, 2]) {
      // Each shard's changes are all there, in the order it made them.
      expect(history.changes.filter((c) => c.shard === shard).map((c) => c.size)).toEqual(
        Array.from({ length: perShard }, (_, i) => 1000 * (shard + 1) + i),
      );
    }
  });

  test('an append that waits for another transaction to commit its append keeps it (the SET is evaluated on the newer row)', async () => {
    const runId = await newRun();
    const first = await db.pool.connect();
    try {
      await first.query('BEGIN');
      await recordBatchSizeChange(first, runId, change(1, { shard: 0 }));
      // Its snapshot predates the first append's commit: only the re-evaluation after the lock wait sees it.
      const second = recordBatchSizeChange(db.pool, runId, change(2, { shard: 1 }));
      await waitFor(
        async () => (await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).rowCount,
        10_000,
        'the second append to wait for the row lock',
      );
      await first.query('COMMIT');
      await second;
    } finally {
      first.release();
    }
    expect(await batchSizeHistory(db.pool, runId)).toMatchObject({ changes: [{ size: 1 }, { size: 2 }], total: 2 });
  });

  test('recording for a run that does not exist fails; reading one gives an empty history', async () => {
    await expect(recordBatchSizeChange(db.pool, 'no-such-run', change(5))).rejects.toThrow('backfill run no-such-run does not exist');
    expect(await batchSizeHistory(db.pool, 'no-such-run')).toEqual({ changes: [], total: 0 });
  });
});
