/** Helpers for backfill integration tests: a migrated, seeded database and workflow runs against it. */
import { WorkflowHandle } from '@temporalio/client';
import { withClient } from '../../db/connection';
import { getRun } from '../../db/backfill-runs';
import { upgrade } from '../../db/migrator';
import { seedDemo } from '../../db/seed';
import type { DemoOptions } from '../../transform/demo-payloads';
import type { BackfillResult } from '../../workflows/definitions';
import { createTestDatabase, TestDatabase } from './database';
import { TemporalHarness } from './temporal';

export async function seededDatabase(demo: DemoOptions): Promise<TestDatabase> {
  const db = await createTestDatabase();
  await seedDemo(db.pool, demo);
  await withClient(db.pool, (c) => upgrade(c));
  return db;
}

let counter = 0;
export function uniqueWorkflowId(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}-${Date.now()}`;
}

export async function startBackfill(harness: TemporalHarness, input: Record<string, unknown>): Promise<WorkflowHandle> {
  return harness.client.workflow.start('backfillRepository', {
    workflowId: uniqueWorkflowId('bf'),
    taskQueue: harness.taskQueue,
    args: [{ environment: 'dev', ...input }],
  });
}

/** Runs a backfill to its end with a worker running; returns its result. */
export async function runBackfill(harness: TemporalHarness, input: Record<string, unknown>): Promise<BackfillResult> {
  return harness.run(async () => (await (await startBackfill(harness, input)).result()) as BackfillResult);
}

export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs = 60_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The run row of the newest backfill run in this database. */
export async function latestRun(db: TestDatabase) {
  const res = await db.pool.query(`SELECT run_id FROM plan_backfill_runs ORDER BY started_at DESC LIMIT 1`);
  return res.rows[0] ? getRun(db.pool, res.rows[0].run_id) : null;
}
