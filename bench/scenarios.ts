/**
 * The workflow scenarios of the benchmark, each measured on the same legacy data and each ending with the
 * whole legacy table in the repository: a first load into an empty repository (the bulk path, once the
 * backfill has one), and a normal run over a repository that already holds the first half of the
 * artifacts (the per-batch path, as every run after an environment's first migration takes).
 */
import type pg from 'pg';
import { REPOSITORY_TABLES, truncateRepository } from '../db/repository-stats';
import { progress } from './log';
import type { ScenarioName } from './options';
import type { WorkflowMeasurement } from './report';
import type { RunRange, WorkflowRunResult } from './workflow-run';

export interface ScenarioContext {
  pool: pg.Pool;
  /** Artifacts in the legacy table. */
  artifacts: number;
  /** One backfillRepository run through Temporal over `range`, with its own worker processes. */
  run: (range: RunRange) => Promise<WorkflowRunResult>;
}

async function completedRun(ctx: ScenarioContext, range: RunRange): Promise<WorkflowRunResult> {
  const run = await ctx.run(range);
  if (run.result.status !== 'completed')
    throw new Error(`the backfill over ${JSON.stringify(range)} ended ${run.result.status}, not completed`);
  return run;
}

/** The id of the `rank`-th artifact in id order: where the first `rank` artifacts end. */
async function artifactIdAtRank(pool: pg.Pool, rank: number): Promise<number> {
  const res = await pool.query<{ id: number }>('SELECT id FROM plan_artifacts ORDER BY id OFFSET $1 LIMIT 1', [rank - 1]);
  return res.rows[0].id;
}

async function firstLoad(ctx: ScenarioContext): Promise<WorkflowMeasurement> {
  await truncateRepository(ctx.pool);
  return completedRun(ctx, {});
}

async function halfFilled(ctx: ScenarioContext): Promise<WorkflowMeasurement> {
  await truncateRepository(ctx.pool);
  const half = Math.floor(ctx.artifacts / 2);
  if (half < 1) throw new Error('workflowHalfFilled needs at least 2 artifacts');
  progress(`workflowHalfFilled: filling the repository with the first ${half} artifacts (not measured)`);
  const fill = await completedRun(ctx, { limit: half });
  // A settled half-filled repository, as production's would be: statistics and hint bits are not the measured run's work.
  await ctx.pool.query(`VACUUM (ANALYZE) ${REPOSITORY_TABLES.join(', ')}`);
  await ctx.pool.query('CHECKPOINT');
  const boundary = await artifactIdAtRank(ctx.pool, half);
  progress(`workflowHalfFilled: the measured normal run over the artifacts after id ${boundary}`);
  const rest = await completedRun(ctx, { afterArtifactId: boundary });
  return { ...rest, fill: { seconds: fill.seconds, totalRows: fill.totalRows, artifacts: half } };
}

export const SCENARIOS: Record<ScenarioName, { what: string; measure: (ctx: ScenarioContext) => Promise<WorkflowMeasurement> }> = {
  workflowFirstLoad: { what: 'a normal run into the empty repository', measure: firstLoad },
  workflowHalfFilled: {
    what: 'a normal run over the second half of the artifacts, the first half already in the repository',
    measure: halfFilled,
  },
};
