/**
 * Shards (issue 10): one run's range split into parts that chunk activities advance at once, on any
 * worker. Over plans whose versions straddle every shard boundary the result must equal a one-shard run,
 * without deadlocks; pause and cancel reach every shard; a SIGKILLed worker's shards finish on another.
 */
import fs from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { getRun } from '../../db/backfill-runs';
import { listShards } from '../../db/backfill-shards';
import { pauseSignal, progressQuery, resumeSignal, type BackfillResult } from '../../workflows/definitions';
import { startCliWorker, childProcessEnv, type CliWorker } from '../support/cli-worker';
import {
  expectShardsMatchCommittedData,
  latestRun,
  waitForProgress,
  runBackfill,
  seededDatabase,
  startBackfill,
  uniqueWorkflowId,
  waitFor,
} from '../support/backfill';
import { testConfig } from '../support/config';
import { TestDatabase } from '../support/database';
import { repositoryDigest, type RepositoryDigest } from '../support/repository';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';
import { writeCliConfig } from '../support/cli';

const DEMO = { plans: 30, versions: 8, series: 20, bad: 6, seed: 11 };
const TOTAL = DEMO.plans * DEMO.versions + DEMO.bad;

/**
 * Renumbers the legacy ids newest version first, plan after plan: every plan then has versions in every
 * shard, and the shards holding a plan's newest versions usually commit before those holding its oldest.
 */
async function straddlingDatabase(): Promise<TestDatabase> {
  const db = await seededDatabase(DEMO);
  await db.pool.query(
    `UPDATE plan_artifacts a SET id = -n.rn FROM (SELECT id, row_number() OVER (ORDER BY version DESC, plan_id) AS rn FROM plan_artifacts) n
      WHERE a.id = n.id`,
  );
  await db.pool.query(`UPDATE plan_artifacts SET id = -id`);
  return db;
}

async function deadlocks(db: TestDatabase): Promise<number> {
  const res = await db.pool.query(`SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()`);
  return res.rows[0].n;
}

/** The identities of the workers that started the run's chunk activities, from its history. */
async function chunkWorkers(handle: WorkflowHandle): Promise<Set<unknown>> {
  const events = (await handle.fetchHistory()).events ?? [];
  const chunkIds = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'backfillChunk')
      .map((e) => String(e.eventId)),
  );
  return new Set(
    events
      .filter((e) => chunkIds.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)))
      .map((e) => e.activityTaskStartedEventAttributes!.identity),
  );
}

describe('backfill shards', () => {
  let reference: RepositoryDigest;
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeAll(async () => {
    const one = await straddlingDatabase();
    const h = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: 'PLANDB_T_SHARD_REF' } }), { PLANDB_T_SHARD_REF: one.url });
    try {
      const result = await runBackfill(h, { shards: 1, batchSize: 50 });
      expect(result.status).toBe('completed');
      expect(await listShards(one.pool, result.runId!)).toHaveLength(1);
      reference = await repositoryDigest(one.pool);
    } finally {
      await h.close();
      await one.drop();
    }
  });

  beforeEach(async () => {
    db = await straddlingDatabase();
    harness = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: 'PLANDB_T_SHARD_URL' } }), { PLANDB_T_SHARD_URL: db.url });
  });

  afterEach(async () => {
    await harness.close();
    await db.drop();
  });

  test('four shards over plans straddling every boundary write exactly what one shard writes, without deadlocks', async () => {
    const before = await deadlocks(db);
    const result = await runBackfill(harness, { shards: 4, batchSize: 3, chunkBudgetMs: 300 });
    expect(result).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: TOTAL, versionsRejected: DEMO.bad }));
    expect(result.shards).toHaveLength(4);
    expect(result.shards!.every((s) => s.done && s.artifactsTotal > 0 && s.artifactsRead === s.artifactsTotal)).toBe(true);
    // The parts cover the range exactly, each starting where the previous ends.
    result.shards!.slice(1).forEach((s, i) => expect(s.afterId).toBe(result.shards![i].upToId));
    expect(await repositoryDigest(db.pool)).toEqual(reference);
    const latest = await db.pool.query(`SELECT count(*)::int AS n FROM plans WHERE latest_version <> $1`, [DEMO.versions]);
    expect(latest.rows[0].n).toBe(0);
    await expectShardsMatchCommittedData(db, result.runId!);
    expect((await getRun(db.pool, result.runId!))!.cursor).toBe(result.upToId);
    expect(await deadlocks(db)).toBe(before);
  });

  test('pause holds every shard after its batch in flight; resume finishes the run identically', async () => {
    await harness.run(async () => {
      const handle = await startBackfill(harness, { shards: 3, batchSize: 2, chunkBudgetMs: 500 });
      await waitFor(async () => ((await latestRun(db))?.artifactsRead ?? 0) > 20, 60_000, 'progress');
      await handle.signal(pauseSignal, { by: 'test', reason: 'hold every shard' });
      const run = await waitFor(async () => {
        const r = await latestRun(db);
        return r?.status === 'paused' ? r : null;
      });
      // The batches in flight when the pause landed commit; after that no shard moves.
      await new Promise((r) => setTimeout(r, 1500));
      const held = await listShards(db.pool, run.runId);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await listShards(db.pool, run.runId)).toEqual(held);
      expect(held.some((s) => !s.done)).toBe(true);
      const progress = await handle.query(progressQuery);
      expect(progress).toEqual(expect.objectContaining({ paused: true, status: 'paused' }));
      expect(progress.shards).toHaveLength(3);
      await handle.signal(resumeSignal, { by: 'test' });
      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: TOTAL }));
    });
    expect(await repositoryDigest(db.pool)).toEqual(reference);
  });

  test('a cap of one chunk per worker spreads two shards over two workers', async () => {
    const taskQueue = uniqueWorkflowId('plandb-spread');
    const { dir, configPath } = writeCliConfig(
      'plandb-spread-',
      { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue },
      { dev: { databaseUrlEnv: 'PLANDB_T_SHARD_URL' } },
    );
    const env = { ...childProcessEnv(configPath, 'PLANDB_T_SHARD_URL', db.url), PLANDB_MAX_CONCURRENT_CHUNKS: '1' };
    const workers: CliWorker[] = [];
    try {
      workers.push(await startCliWorker(env), await startCliWorker(env));
      expect(workers.map((w) => w.started.maxConcurrentChunks)).toEqual([1, 1]);
      const handle = await harness.client.workflow.start('backfillRepository', {
        workflowId: uniqueWorkflowId('bf-shards-spread'),
        taskQueue,
        args: [{ environment: 'dev', shards: 2, batchSize: 3, chunkBudgetMs: 2000 }],
      });
      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: TOTAL }));
      expect(await chunkWorkers(handle)).toEqual(new Set(workers.map((w) => w.started.identity)));
      expect(await repositoryDigest(db.pool)).toEqual(reference);
    } finally {
      for (const w of workers) await w.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('SIGKILL of one of two workers mid-run: the other finishes every shard, identical to an undisturbed run', async () => {
    const taskQueue = uniqueWorkflowId('plandb-shards');
    const { dir, configPath } = writeCliConfig(
      'plandb-shards-',
      { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue },
      {
        dev: { databaseUrlEnv: 'PLANDB_T_SHARD_URL' },
      },
    );
    const env = childProcessEnv(configPath, 'PLANDB_T_SHARD_URL', db.url);
    const workers: CliWorker[] = [];
    try {
      workers.push(await startCliWorker(env), await startCliWorker(env));
      const handle = await harness.client.workflow.start('backfillRepository', {
        workflowId: uniqueWorkflowId('bf-shards-kill'),
        taskQueue,
        args: [{ environment: 'dev', shards: 2, batchSize: 3, chunkBudgetMs: 2000 }],
      });
      const running = await waitForProgress(db, TOTAL / 4);
      await workers[0].kill();
      // Its open transactions roll back with its connections: each shard's checkpoint stays exact.
      await expectShardsMatchCommittedData(db, running.runId);
      expect((await getRun(db.pool, running.runId))!.artifactsRead).toBeLessThan(TOTAL);

      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(expect.objectContaining({ status: 'completed', runId: running.runId, artifactsRead: TOTAL }));
      await expectShardsMatchCommittedData(db, running.runId);
      expect(await repositoryDigest(db.pool)).toEqual(reference);
    } finally {
      for (const w of workers) await w.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
