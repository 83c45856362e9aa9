/** Helpers for backfill integration tests: a migrated, seeded database and workflow runs against it. */
import { WorkflowHandle } from '@temporalio/client';
import { withClient } from '../../db/connection';
import { getRun } from '../../db/backfill-runs';
import { listShards } from '../../db/backfill-shards';
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

/** Waits until the newest run has read more than `artifacts`; returns its row. */
export async function waitForProgress(db: TestDatabase, artifacts: number, timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const run = await latestRun(db);
      return run && run.artifactsRead > artifacts ? run : null;
    },
    timeoutMs,
    `the run to read more than ${artifacts} artifacts`,
  );
}

/** The run row of the newest backfill run in this database. */
export async function latestRun(db: TestDatabase) {
  const res = await db.pool.query(`SELECT run_id FROM plan_backfill_runs ORDER BY started_at DESC LIMIT 1`);
  return res.rows[0] ? getRun(db.pool, res.rows[0].run_id) : null;
}

/**
 * Every committed batch is whole, shard by shard: versions and errors exist for exactly the artifacts in
 * (afterId, cursor] of each shard, none beyond its cursor, and the run row is the sum of its shards. Read in
 * one snapshot, so workers still writing cannot skew it.
 */
export async function expectShardsMatchCommittedData(db: TestDatabase, runId: string): Promise<void> {
  await withClient(db.pool, async (c) => {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const run = (await getRun(c, runId))!;
      const shards = await listShards(c, runId);
      expect(shards.length).toBeGreaterThan(0);
      for (const s of shards) {
        const res = await c.query(
          `SELECT (SELECT count(*)::int FROM plan_versions WHERE source_artifact_id > $1 AND source_artifact_id <= $2) AS beyond,
                  (SELECT count(*)::int FROM plan_versions WHERE source_artifact_id > $3 AND source_artifact_id <= $1) AS written,
                  (SELECT count(*)::int FROM plan_backfill_errors WHERE run_id = $4 AND artifact_id > $3 AND artifact_id <= $1) AS errors`,
          [s.cursor, s.upToId, s.afterId, runId],
        );
        const r = res.rows[0];
        expect({ shard: s.shard, beyond: r.beyond, read: r.written + r.errors }).toEqual({
          shard: s.shard,
          beyond: 0,
          read: s.artifactsRead,
        });
      }
      const sum = (key: 'artifactsRead' | 'versionsWritten' | 'errorsCount') => shards.reduce((n, s) => n + s[key], 0);
      expect({ artifactsRead: sum('artifactsRead'), versionsWritten: sum('versionsWritten'), errorsCount: sum('errorsCount') }).toEqual({
        artifactsRead: run.artifactsRead,
        versionsWritten: run.versionsWritten,
        errorsCount: run.errorsCount,
      });
    } finally {
      await c.query('COMMIT');
    }
  });
}
