/** Activities called directly (no Temporal): their deps as the worker builds them, and a backfilled database. */
import pino from 'pino';
import pg from 'pg';
import type { WorkflowLivenessPort, WorkerActivityDeps } from '../../activities/deps';
import type { PlandbConfig } from '../../config/schema';
import { runBatch } from '../../db/backfill-batch';
import { setRunStatus } from '../../db/backfill-runs';
import { createShardedRun } from '../../db/backfill-shards';
import { DatabaseRegistry } from '../../db/registry';
import type { DemoOptions } from '../../transform/demo-payloads';
import { createMetrics } from '../../metrics/registry';
import { seededDatabase } from './backfill';
import type { TestDatabase } from './database';

/** Activities called without Temporal cannot ask it about workflows: a test that needs ownership checks runs a worker. */
export const noTemporalLiveness: WorkflowLivenessPort = async (workflowId) => {
  throw new Error(`workflow liveness of ${workflowId} asked in a test that runs activities without Temporal`);
};

export function activityDeps(config: PlandbConfig, env: NodeJS.ProcessEnv): WorkerActivityDeps {
  return {
    config,
    databases: new DatabaseRegistry(config, env),
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    env,
    workflowLiveness: noTemporalLiveness,
  };
}

let runs = 0;

/** A full normal backfill of `pool`, batch by batch through the same code the backfill activity runs (shards one after the other). */
export async function backfillAll(pool: pg.Pool, batchSize = 7, shards = 1): Promise<void> {
  const bounds = await pool.query<{ up_to: number | null; n: number }>(`SELECT max(id) AS up_to, count(*)::int8 AS n FROM plan_artifacts`);
  const runId = `test-backfill-${process.pid}-${++runs}`;
  await createShardedRun(
    pool,
    {
      runId,
      environment: 'dev',
      workflowId: null,
      mode: 'normal',
      options: {},
      cursor: 0,
      upToId: bounds.rows[0].up_to ?? 0,
      artifactsTotal: bounds.rows[0].n,
      limit: null,
    },
    shards,
  );
  for (let shard = 0; shard < shards; shard++) while (!(await runBatch(pool, { runId, shard, environment: 'dev', batchSize })).stop);
  // Closed as its workflow would, so the environment is free for the next run.
  await setRunStatus(pool, runId, 'completed');
}

/** A seeded, migrated and fully backfilled database. */
export async function backfilledDatabase(demo: DemoOptions): Promise<TestDatabase> {
  const db = await seededDatabase(demo);
  await backfillAll(db.pool);
  return db;
}
