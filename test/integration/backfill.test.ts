import { WorkflowFailedError } from '@temporalio/client';
import { withClient } from '../../db/connection';
import { upgrade } from '../../db/migrator';
import { seedDemo } from '../../db/seed';
import type { BackfillResult } from '../../workflows/definitions';
import { testConfig } from '../support/config';
import { createTestDatabase, TestDatabase } from '../support/database';
import { repositoryDigest } from '../support/repository';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const DEMO = { plans: 6, versions: 4, series: 8, bad: 10, seed: 3 };
const TOTAL = DEMO.plans * DEMO.versions + DEMO.bad;
const VALID = DEMO.plans * DEMO.versions;

describe('backfillRepository', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;
  let n = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedDemo(db.pool, DEMO);
    await withClient(db.pool, (c) => upgrade(c));
    harness = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: 'PLANDB_T_BF_URL' } }), { PLANDB_T_BF_URL: db.url });
  });

  afterAll(async () => {
    await harness?.close();
    await db?.drop();
  });

  const backfill = (input: Record<string, unknown>) =>
    harness.run(async () => {
      const handle = await harness.client.workflow.start('backfillRepository', {
        workflowId: `bf-${++n}-${Date.now()}`,
        taskQueue: harness.taskQueue,
        args: [{ environment: 'dev', batchSize: 7, ...input }],
      });
      return (await handle.result()) as BackfillResult;
    });

  test('dry-run counts equal what the real run then writes; the dry run wrote nothing', async () => {
    const dry = await backfill({ dryRun: true });
    expect(dry.status).toBe('completed');
    expect(dry.artifactsRead).toBe(TOTAL);
    expect(dry.versionsWritten).toBe(VALID);
    expect(dry.versionsRejected).toBe(DEMO.bad);
    expect(dry.seriesWritten).toBe(VALID * DEMO.series);
    expect(await repositoryDigest(db.pool)).toEqual(expect.objectContaining({ plans: 0, plan_versions: 0, plan_series: 0 }));

    const real = await backfill({});
    expect(real.status).toBe('completed');
    for (const k of ['artifactsRead', 'versionsWritten', 'versionsRejected', 'plansWritten', 'seriesWritten', 'kpisWritten', 'eventsWritten'] as const) {
      expect([k, real[k]]).toEqual([k, dry[k]]);
    }
    const digest = await repositoryDigest(db.pool);
    expect(digest.plan_versions).toBe(VALID);
    expect(digest.plans).toBe(DEMO.plans);
    expect(digest.plan_series).toBe(real.seriesWritten);
    expect(digest.plan_kpis).toBe(real.kpisWritten);
    expect(digest.plan_events).toBe(real.eventsWritten);
  });

  test('an invalid input fails at once naming the field', async () => {
    const err: unknown = await backfill({ batchSize: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toMatch(/"batchSize" must be a whole number from 1 to 50000, got 0/);
  });
});
