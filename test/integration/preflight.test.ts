import { WorkflowFailedError } from '@temporalio/client';
import { withClient } from '../../db/connection';
import { upgrade } from '../../db/migrator';
import { seedDemo } from '../../db/seed';
import type { PreflightReport } from '../../activities/preflight';
import { demoArtifacts } from '../../transform/demo-payloads';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from '../../workflows/search-attributes';
import { testConfig } from '../support/config';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const DEMO = { plans: 4, versions: 3, series: 5, bad: 11, seed: 7 };

/** What the demo set holds, counted from the generated documents themselves (not through the transform). */
function expectedInventory() {
  let valid = 0;
  let kpis = 0;
  let events = 0;
  const rejects: Record<string, number> = {};
  for (const a of demoArtifacts(DEMO)) {
    if (a.expectedReject) {
      rejects[a.expectedReject] = (rejects[a.expectedReject] ?? 0) + 1;
      continue;
    }
    valid++;
    const doc = a.payload as { kpis?: unknown; events?: unknown[] };
    kpis += Array.isArray(doc.kpis) ? doc.kpis.length : doc.kpis ? Object.keys(doc.kpis).length : 0;
    events += doc.events?.length ?? 0;
  }
  return { valid, kpis, events, rejects };
}

describe('preflight workflow on the Temporal dev server', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedDemo(db.pool, DEMO);
    const config = testConfig({ dev: { databaseUrlEnv: 'PLANDB_T_DEV_URL' } });
    harness = await createTemporalHarness(config, { PLANDB_T_DEV_URL: db.url });
  });

  afterAll(async () => {
    await harness?.close();
    await db?.drop();
  });

  const runPreflight = (workflowId: string, input: unknown) =>
    harness.run(async () => {
      const handle = await harness.client.workflow.start('preflight', { workflowId, taskQueue: harness.taskQueue, args: [input] });
      const result = (await handle.result()) as PreflightReport;
      return { result, description: await handle.describe() };
    });

  test('reports the legacy inventory, pending migrations and no maintenance table before upgrade', async () => {
    const { result, description } = await runPreflight(`preflight-before-${Date.now()}`, { environment: 'dev' });
    const expected = expectedInventory();
    expect(result.legacy).toEqual({
      artifacts: DEMO.plans * DEMO.versions + DEMO.bad,
      plans: DEMO.plans,
      validVersions: DEMO.plans * DEMO.versions,
      rejected: DEMO.bad,
      rejectsByReason: expected.rejects,
      series: DEMO.plans * DEMO.versions * DEMO.series,
      kpis: expected.kpis,
      events: expected.events,
    });
    expect(expected.valid).toBe(DEMO.plans * DEMO.versions);
    expect(result.migrations.atHead).toBe(false);
    expect(result.migrations.pending.length).toBeGreaterThan(0);
    expect(result.migrations.current).toBeNull();
    expect(result.repository).toBeNull();
    expect(result.maintenance).toBeNull();
    expect(result.server.version).toMatch(/^\d+\.\d+/);
    expect(result.server.database).toBe(db.name);
    // The workflow tags itself so the UI can filter, even when started without search attributes.
    expect(description.typedSearchAttributes.get(PLAN_DB_ENVIRONMENT)).toBe('dev');
    expect(description.typedSearchAttributes.get(PLAN_DB_STEP)).toBe('completed');
  });

  test('after upgrade: at head, empty repository, maintenance off', async () => {
    await withClient(db.pool, (c) => upgrade(c));
    const { result } = await runPreflight(`preflight-after-${Date.now()}`, { environment: 'dev' });
    expect(result.migrations).toEqual(expect.objectContaining({ atHead: true, pending: [], drift: [] }));
    expect(result.migrations.current).toBe(result.migrations.head);
    expect(result.repository).toEqual({ plans: 0, plan_versions: 0, plan_kpis: 0, plan_series: 0, plan_events: 0 });
    expect(result.maintenance).toEqual(expect.objectContaining({ scope: 'plan_create', enabled: false }));
  });

  test('an unknown environment fails at once with a message naming it (no retries)', async () => {
    const err: unknown = await runPreflight(`preflight-unknown-${Date.now()}`, { environment: 'qa' }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause?.cause as Error | undefined;
    expect(cause?.message).toMatch(/unknown environment "qa" \(known: dev\)/);
  });

  test('a malformed input fails with a message naming the field', async () => {
    const err = await runPreflight(`preflight-bad-${Date.now()}`, { env: 'dev' }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toMatch(/"environment" must be an environment name/);
  });
});
