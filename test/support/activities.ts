/** Activities called directly (no Temporal): their deps as the worker builds them, and a backfilled database. */
import pino from 'pino';
import pg from 'pg';
import type { WorkflowLivenessPort, WorkerActivityDeps } from '../../activities/deps';
import type { PlandbConfig } from '../../config/schema';
import { runBatch } from '../../db/backfill-batch';
import { createRun, setRunStatus, type NewRun } from '../../db/backfill-runs';
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

/** Run around the batches, as a workflow would (the bulk path prepares after the run is created and finishes before it closes). */
export interface BackfillHooks {
  afterCreate?: (runId: string) => Promise<void>;
  beforeClose?: (runId: string) => Promise<void>;
}

/** A run row of dev as the backfill activity creates it (normal mode unless `over` says otherwise), without a workflow. */
const runRow = (runId: string, over: Partial<NewRun> = {}): NewRun => ({
  runId,
  environment: 'dev',
  workflowId: null,
  mode: 'normal',
  options: {},
  cursor: 0,
  upToId: 0,
  artifactsTotal: 0,
  limit: null,
  ...over,
});

/** A run row without shards or batches (what the bulk path's stages need to record themselves in). */
export async function openRun(pool: pg.Pool, runId: string, over: Partial<NewRun> = {}): Promise<string> {
  await createRun(pool, runRow(runId, over));
  return runId;
}

/** A full normal backfill of `pool`, batch by batch through the same code the backfill activity runs (shards one after the other). */
export async function backfillAll(pool: pg.Pool, batchSize = 7, opts: BackfillHooks & { shards?: number } = {}): Promise<void> {
  const shards = opts.shards ?? 1;
  const bounds = await pool.query<{ up_to: number | null; n: number }>(`SELECT max(id) AS up_to, count(*)::int8 AS n FROM plan_artifacts`);
  const runId = `test-backfill-${process.pid}-${++runs}`;
  await createShardedRun(pool, runRow(runId, { upToId: bounds.rows[0].up_to ?? 0, artifactsTotal: bounds.rows[0].n }), shards);
  await opts.afterCreate?.(runId);
  for (let shard = 0; shard < shards; shard++) while (!(await runBatch(pool, { runId, shard, environment: 'dev', batchSize })).stop);
  await opts.beforeClose?.(runId);
  // Closed as its workflow would, so the environment is free for the next run.
  await setRunStatus(pool, runId, 'completed');
}

/** A seeded, migrated and fully backfilled database. */
export async function backfilledDatabase(demo: DemoOptions): Promise<TestDatabase> {
  const db = await seededDatabase(demo);
  await backfillAll(db.pool);
  return db;
}
