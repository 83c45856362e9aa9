import { createCapacityActivities } from '../../activities/capacity';
import { REPOSITORY_TABLES } from '../../db/repository-stats';
import { REPOSITORY_ROWS_METRIC } from '../../metrics/repository-gauge';
import { recommendMaxRows } from '../../model/capacity';
import { activityDeps, backfilledDatabase } from '../support/activities';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';

const DEMO = { plans: 5, versions: 3, series: 12, bad: 4, seed: 4 };
const URL_VAR = 'PLANDB_T_CAPACITY_URL';

describe('recordCapacity activity', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await backfilledDatabase(DEMO);
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('counts every repository table exactly, recommends PLANS_DB_MAX_ROWS and sets plan_repository_rows', async () => {
    const env = { [URL_VAR]: db.url };
    const deps = activityDeps(testConfig({ dev: { databaseUrlEnv: URL_VAR, capacity: { maxRows: 100, alertThreshold: 40 } } }), env);
    try {
      const report = await createCapacityActivities(deps).recordCapacity({ environment: 'dev' });
      const tables = (
        await db.pool.query<Record<string, number>>(
          `SELECT ${REPOSITORY_TABLES.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`,
        )
      ).rows[0];
      expect(report.counts).toEqual(tables);
      expect(report.planSeriesRows).toBe(DEMO.plans * DEMO.versions * DEMO.series);
      expect(report).toEqual(
        expect.objectContaining({
          environment: 'dev',
          maxRows: 100,
          alertThreshold: 40,
          recommendedMaxRows: recommendMaxRows(report.planSeriesRows),
          utilization: report.planSeriesRows / 100,
          overMaxRows: true,
          rule: expect.stringMatching(/x 2, rounded up to 2 significant digits/),
        }),
      );
      const gauge = await deps.metrics.registry.getSingleMetric(REPOSITORY_ROWS_METRIC)!.get();
      expect(Object.fromEntries(gauge.values.map((v) => [`${v.labels.environment}/${v.labels.table}`, v.value]))).toEqual(
        Object.fromEntries(REPOSITORY_TABLES.map((t) => [`dev/${t}`, tables[t]])),
      );
      // The gauge is registered once however many times the activities are built.
      expect(() => createCapacityActivities(deps)).not.toThrow();
      expect(await deps.metrics.registry.metrics()).toContain(
        `plan_repository_rows{environment="dev",table="plan_series"} ${tables.plan_series}`,
      );
    } finally {
      await deps.databases.close();
    }
  });
});
