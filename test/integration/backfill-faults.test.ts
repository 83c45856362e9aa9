/**
 * Fault tests (SPEC §10): a worker process SIGKILLed mid-run, and the worker's database connections
 * terminated mid-batch. Both runs must end with the repository identical to an undisturbed run.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { getRun } from '../../db/backfill-runs';
import { projectRoot } from '../../platform/project-root';
import type { BackfillResult } from '../../workflows/definitions';
import {
  expectShardsMatchCommittedData,
  latestRun,
  waitForProgress,
  runBackfill,
  seededDatabase,
  startBackfill,
  waitFor,
} from '../support/backfill';
import { testConfig } from '../support/config';
import { TestDatabase } from '../support/database';
import { repositoryDigest } from '../support/repository';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';
import { writeCliConfig } from '../support/cli';

const DEMO = { plans: 40, versions: 6, series: 30, bad: 12, seed: 5 };
const INPUT = { batchSize: 3, chunkBudgetMs: 2000 };

describe('backfill fault tolerance', () => {
  let reference: TestDatabase;
  let referenceDigest: Record<string, unknown>;

  beforeAll(async () => {
    reference = await seededDatabase(DEMO);
    const harness = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: 'PLANDB_T_REF_URL' } }), {
      PLANDB_T_REF_URL: reference.url,
    });
    try {
      const result = await runBackfill(harness, INPUT);
      expect(result.status).toBe('completed');
    } finally {
      await harness.close();
    }
    referenceDigest = await repositoryDigest(reference.pool);
  });

  afterAll(async () => {
    await reference?.drop();
  });

  test('SIGKILL of the worker process mid-run: a new worker completes it, identical to an undisturbed run', async () => {
    const db = await seededDatabase(DEMO);
    const taskQueue = `plandb-kill-${process.pid}-${Date.now()}`;
    const { dir, configPath } = writeCliConfig(
      'plandb-kill-',
      { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue },
      {
        dev: { databaseUrlEnv: 'PLANDB_T_KILL_URL' },
      },
    );
    // The real `plandb worker` (compiled: `npm test` builds first), in processes we can kill.
    const startWorkerProcess = (): ChildProcess =>
      spawn(process.execPath, [path.join(projectRoot(), 'bin', 'plandb.js'), 'worker'], {
        // Free ports for the metrics endpoints: a `plandb dev` may hold the default ones.
        env: {
          ...process.env,
          PLANDB_CONFIG: configPath,
          PLANDB_T_KILL_URL: db.url,
          PLANDB_LOG_LEVEL: 'warn',
          PLANDB_METRICS_PORT: '0',
          PLANDB_TEMPORAL_METRICS_ADDRESS: '127.0.0.1:0',
        },
        stdio: 'ignore',
      });
    const exited = (p: ChildProcess) =>
      new Promise((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve(null) : p.once('exit', resolve)));
    const client = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: 'PLANDB_T_KILL_URL' } }), { PLANDB_T_KILL_URL: db.url });
    let second: ChildProcess | undefined;
    try {
      const first = startWorkerProcess();
      const handle = await client.client.workflow.start('backfillRepository', {
        workflowId: `bf-kill-${Date.now()}`,
        taskQueue,
        args: [{ environment: 'dev', ...INPUT }],
      });
      const total = DEMO.plans * DEMO.versions + DEMO.bad;
      const running = await waitForProgress(db, total / 5);
      first.kill('SIGKILL');
      await exited(first);
      // The killed worker's open transaction is rolled back with its connections: the checkpoint is exact.
      await waitFor(
        async () => {
          const res = await db.pool.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'plandb-dev'`,
            [db.name],
          );
          return res.rows[0].n === 0;
        },
        10_000,
        'the killed worker connections to close',
      );
      await expectShardsMatchCommittedData(db, running.runId);
      const atKill = (await getRun(db.pool, running.runId))!;
      expect(atKill.artifactsRead).toBeLessThan(total);

      second = startWorkerProcess();
      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(expect.objectContaining({ status: 'completed', runId: running.runId, artifactsRead: total }));
      await expectShardsMatchCommittedData(db, running.runId);
      expect(await repositoryDigest(db.pool)).toEqual(referenceDigest);
    } finally {
      second?.kill('SIGTERM');
      if (second) await exited(second);
      await client.close();
      await db.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('database connections terminated mid-batch: the activity retries and the result is identical', async () => {
    const db = await seededDatabase(DEMO);
    const harness: TemporalHarness = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: 'PLANDB_T_TERM_URL' } }), {
      PLANDB_T_TERM_URL: db.url,
    });
    try {
      const result = await harness.run(async () => {
        const handle = await startBackfill(harness, INPUT);
        await waitFor(async () => ((await latestRun(db))?.artifactsRead ?? 0) > 10, 60_000, 'progress');
        // Kill the worker's backends repeatedly while batches are being written.
        let terminated = 0;
        for (let i = 0; i < 5; i++) {
          const res = await db.pool.query(
            `SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = $1 AND application_name = 'plandb-dev' AND pid <> pg_backend_pid()) t`,
            [db.name],
          );
          terminated += res.rows[0].n;
          await new Promise((r) => setTimeout(r, 150));
        }
        expect(terminated).toBeGreaterThan(0);
        return (await handle.result()) as BackfillResult;
      });
      expect(result.status).toBe('completed');
      // At least one batch died mid-way and was retried.
      const dbErrors = await harness.metrics.writeErrorTotal.get();
      expect(dbErrors.values.find((v) => v.labels.reason === 'db_error')?.value ?? 0).toBeGreaterThan(0);
      await expectShardsMatchCommittedData(db, result.runId!);
      expect(await repositoryDigest(db.pool)).toEqual(referenceDigest);
    } finally {
      await harness.close();
      await db.drop();
    }
  });
});
