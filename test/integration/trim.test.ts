import { WorkflowFailedError } from '@temporalio/client';
import pino from 'pino';
import type { TrimReport } from '../../activities/trim';
import { tryLockEnvironmentForTrim, unlockEnvironmentForTrim } from '../../db/advisory-locks';
import { withClient } from '../../db/connection';
import { pauseSignal } from '../../workflows/definitions';
import { PLAN_DB_STEP } from '../../workflows/search-attributes';
import { backfilledDatabase } from '../support/activities';
import { latestRun, uniqueWorkflowId, waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';
import { repositoryDigest } from '../support/repository';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

// 40 plans x 4 versions x 3 series rows: 480 plan_series rows; 120 non-latest versions (more than one batch).
const DEMO = { plans: 40, versions: 4, series: 3, seed: 5 };
const ROWS = DEMO.plans * DEMO.versions * DEMO.series;
const THRESHOLD = 60;
const URL_VAR = 'PLANDB_T_TRIM_URL';
const plan = (n: number) => `plan-${String(n).padStart(5, '0')}`;

describe('capacityTrim', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;
  let logLines: string[];

  beforeEach(async () => {
    db = await backfilledDatabase(DEMO);
    // backfillAll leaves its run open (a workflow would close it): close it, or the trim sees an active backfill.
    await db.pool.query(`UPDATE plan_backfill_runs SET status = 'completed', finished_at = now()`);
    logLines = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
    const config = testConfig({
      dev: { databaseUrlEnv: URL_VAR, capacity: { maxRows: ROWS, alertThreshold: THRESHOLD } },
      qa: { databaseUrlEnv: URL_VAR },
    });
    harness = await createTemporalHarness(config, { [URL_VAR]: db.url }, logger);
  });
  afterEach(async () => {
    await harness?.close();
    await db?.drop();
  });

  const trim = (input: Record<string, unknown>, workflowId = uniqueWorkflowId('trim')): Promise<TrimReport> =>
    harness.run(() =>
      harness.client.workflow.execute('capacityTrim', {
        workflowId,
        taskQueue: harness.taskQueue,
        args: [{ environment: 'dev', ...input }],
      }),
    );
  const failureOf = async (input: Record<string, unknown>, workflowId?: string): Promise<Error & { type?: string }> => {
    const err: unknown = await trim(input, workflowId).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as Error & { cause?: Error };
    return (cause.cause ?? cause) as Error & { type?: string };
  };
  const versions = async (): Promise<string[]> =>
    (await db.pool.query(`SELECT plan_id || ' v' || version AS v FROM plan_versions ORDER BY plan_id, version`)).rows.map((r) => r.v);
  const trimRow = async (id: number) => (await db.pool.query(`SELECT * FROM plan_db_trim_runs WHERE id = $1`, [id])).rows[0];
  const metricValue = async (
    metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> },
    labels: Record<string, string>,
  ) => (await metric.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  const stepOf = async (workflowId: string) =>
    (await harness.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get(PLAN_DB_STEP);
  const alerts = () => logLines.map((l) => JSON.parse(l)).filter((l) => l.event === 'plan_repository_capacity_trim_alert');

  test('under the limit nothing is deleted (and a run row records it)', async () => {
    const before = await repositoryDigest(db.pool);
    const report = await trim({});
    expect(report).toEqual(
      expect.objectContaining({
        maxRows: ROWS,
        rowsBefore: ROWS,
        rowsAfter: ROWS,
        rowsTrimmed: 0,
        versionsTrimmed: 0,
        batches: 0,
        stop: 'under-max-rows',
        dryRun: false,
      }),
    );
    expect(await repositoryDigest(db.pool)).toEqual(before);
    expect(await trimRow(report.trimRunId)).toEqual(
      expect.objectContaining({ rows_before: ROWS, rows_trimmed: 0, versions_trimmed: 0, dry_run: false }),
    );
  });

  test('over the limit the oldest non-latest versions go, oldest first, just until under; metrics match the run row', async () => {
    // plan 6 becomes the oldest plan, all four versions; its latest must still stay.
    await db.pool.query(`UPDATE plan_versions SET artifact_created_at = artifact_created_at - interval '30 days' WHERE plan_id = $1`, [
      plan(6),
    ]);
    const all = await versions();
    // 130 rows over: plan 6 v1-v3 (9 rows), v1 of the 39 others (117), then v2 of plans 1 and 2 (6): 44 versions,
    // 132 rows; the 44th is needed because 43 versions are only 129 rows.
    const maxRows = ROWS - 130;
    const expectedGone = [
      ...[1, 2, 3].map((v) => `${plan(6)} v${v}`),
      ...Array.from({ length: 40 }, (_, i) => i + 1)
        .filter((p) => p !== 6)
        .map((p) => `${plan(p)} v1`),
      `${plan(1)} v2`,
      `${plan(2)} v2`,
    ].sort();

    const workflowId = uniqueWorkflowId('trim');
    const report: TrimReport = await harness.run(() =>
      harness.client.workflow.execute('capacityTrim', {
        workflowId,
        taskQueue: harness.taskQueue,
        args: [{ environment: 'dev', maxRows }],
      }),
    );
    expect(report).toEqual(
      expect.objectContaining({
        rowsBefore: ROWS,
        rowsTrimmed: 132,
        versionsTrimmed: 44,
        rowsAfter: ROWS - 132,
        batches: 1,
        stop: 'under-max-rows',
      }),
    );
    expect(await stepOf(workflowId)).toBe('completed');
    const left = await versions();
    expect(all.filter((v) => !left.includes(v))).toEqual(expectedGone);
    const latest = await db.pool.query(
      `SELECT count(*)::int AS n FROM plans p WHERE EXISTS (SELECT 1 FROM plan_versions v WHERE v.plan_id = p.plan_id AND v.version = p.latest_version)`,
    );
    expect(latest.rows[0].n).toBe(DEMO.plans);
    const counts = await db.pool.query(
      `SELECT (SELECT count(*)::int FROM plan_series) AS series,
              (SELECT count(*)::int FROM plan_kpis k WHERE NOT EXISTS (SELECT 1 FROM plan_versions v WHERE v.plan_id = k.plan_id AND v.version = k.version)) AS orphan_kpis,
              (SELECT count(*)::int FROM plan_events e WHERE NOT EXISTS (SELECT 1 FROM plan_versions v WHERE v.plan_id = e.plan_id AND v.version = e.version)) AS orphan_events`,
    );
    expect(counts.rows[0]).toEqual({ series: ROWS - 132, orphan_kpis: 0, orphan_events: 0 });

    const row = await trimRow(report.trimRunId);
    expect(row).toEqual(
      expect.objectContaining({
        environment: 'dev',
        max_rows: maxRows,
        rows_before: ROWS,
        rows_trimmed: 132,
        versions_trimmed: 44,
        dry_run: false,
        workflow_id: workflowId,
      }),
    );
    expect(await metricValue(harness.metrics.capacityTrimTotal, { environment: 'dev' })).toBe(row.rows_trimmed);
    const lastTrim = await metricValue(harness.metrics.lastTrimTimestamp, { environment: 'dev' });
    expect(lastTrim).toBeGreaterThanOrEqual(Math.floor(row.at.getTime() / 1000));
    expect(lastTrim).toBeLessThanOrEqual(Date.now() / 1000);
    const latency = (await harness.metrics.writeLatency.get()).values.find(
      (v) => v.metricName === 'plan_db_write_latency_seconds_count' && v.labels.operation === 'trim_batch',
    );
    expect(latency?.value).toBe(report.batches);
    expect(await harness.metrics.registry.metrics()).toContain(`plan_db_capacity_trim_total{environment="dev"} 132`);
    // The repository's size is counted again after the trim, not left at what the last recordCapacity saw.
    expect(await metricValue(harness.metrics.repositoryRows, { environment: 'dev', table: 'plan_series' })).toBe(ROWS - 132);
  });

  test('latest versions always stay: a tiny maxRows trims every other version, in batches, and reports nothing trimmable', async () => {
    const report = await trim({ maxRows: 1 });
    const nonLatest = DEMO.plans * (DEMO.versions - 1);
    expect(report).toEqual(
      expect.objectContaining({
        versionsTrimmed: nonLatest,
        rowsTrimmed: nonLatest * DEMO.series,
        rowsAfter: DEMO.plans * DEMO.series,
        batches: 2,
        stop: 'nothing-trimmable',
      }),
    );
    expect(await versions()).toEqual(Array.from({ length: DEMO.plans }, (_, i) => `${plan(i + 1)} v${DEMO.versions}`));
    const latest = await db.pool.query(
      `SELECT count(*)::int AS n FROM plans p JOIN plan_versions v ON v.plan_id = p.plan_id AND v.version = p.latest_version`,
    );
    expect(latest.rows[0].n).toBe(DEMO.plans);
    // Nothing left to trim: a second run deletes nothing and says so.
    expect(await trim({ maxRows: 1 })).toEqual(expect.objectContaining({ rowsTrimmed: 0, versionsTrimmed: 0, stop: 'nothing-trimmable' }));
  });

  test('dry-run deletes nothing and reports what the real run then deletes', async () => {
    const counts = (r: TrimReport) => ({
      rowsBefore: r.rowsBefore,
      rowsTrimmed: r.rowsTrimmed,
      versionsTrimmed: r.versionsTrimmed,
      rowsAfter: r.rowsAfter,
      stop: r.stop,
    });
    for (const maxRows of [ROWS - 130, 1]) {
      const before = await repositoryDigest(db.pool);
      const dry = await trim({ maxRows, dryRun: true });
      expect(dry.dryRun).toBe(true);
      expect(dry.rowsTrimmed).toBeGreaterThan(0);
      expect(await repositoryDigest(db.pool)).toEqual(before);
      expect(await trimRow(dry.trimRunId)).toEqual(
        expect.objectContaining({ dry_run: true, rows_trimmed: dry.rowsTrimmed, versions_trimmed: dry.versionsTrimmed }),
      );
      const real = await trim({ maxRows });
      expect(counts(real)).toEqual(counts(dry));
    }
    // Only the real runs count as trims.
    const rows = await db.pool.query(`SELECT coalesce(sum(rows_trimmed) FILTER (WHERE NOT dry_run), 0)::int AS n FROM plan_db_trim_runs`);
    expect(await metricValue(harness.metrics.capacityTrimTotal, { environment: 'dev' })).toBe(rows.rows[0].n);
  });

  test('the alert log event appears when rows trimmed exceed the threshold, not at it', async () => {
    const atThreshold = await trim({ maxRows: ROWS - THRESHOLD });
    expect(atThreshold).toEqual(expect.objectContaining({ rowsTrimmed: THRESHOLD, alerted: false, alertThreshold: THRESHOLD }));
    expect(alerts()).toEqual([]);
    expect((await metricValue(harness.metrics.capacityTrimAlertsTotal, { environment: 'dev' })) ?? 0).toBe(0);

    const maxRows = ROWS - THRESHOLD - (THRESHOLD + 3);
    const over = await trim({ maxRows });
    expect(over).toEqual(expect.objectContaining({ rowsTrimmed: THRESHOLD + 3, alerted: true }));
    expect(alerts()).toEqual([
      expect.objectContaining({ level: 40, environment: 'dev', rowsTrimmed: THRESHOLD + 3, threshold: THRESHOLD, maxRows }),
    ]);
    expect(await metricValue(harness.metrics.capacityTrimAlertsTotal, { environment: 'dev' })).toBe(1);
  });

  test('refuses while a backfill of the environment is active, naming the run', async () => {
    const before = await repositoryDigest(db.pool);
    const rowsBefore = (await db.pool.query(`SELECT count(*)::int AS n FROM plan_db_trim_runs`)).rows[0].n;
    // Started paused: its run row stays 'paused' (and fresh) while the workflow waits for a resume.
    const { backfill, run } = await harness.run(async () => {
      const handle = await harness.client.workflow.signalWithStart('backfillRepository', {
        workflowId: uniqueWorkflowId('bf'),
        taskQueue: harness.taskQueue,
        args: [{ environment: 'dev' }],
        signal: pauseSignal,
        signalArgs: [{ by: 'test' }],
      });
      const paused = await waitFor(async () => {
        const r = await latestRun(db);
        return r?.status === 'paused' ? r : null;
      });
      return { backfill: handle, run: paused };
    });
    try {
      const failure = await failureOf({ maxRows: 1 });
      expect(failure.type).toBe('BackfillRunning');
      expect(failure.message).toContain(run.runId);
    } finally {
      await backfill.terminate('test over');
    }
    expect(await repositoryDigest(db.pool)).toEqual(before);
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM plan_db_trim_runs`)).rows[0].n).toBe(rowsBefore);
  });

  test('refuses a second trim of the environment while one runs', async () => {
    await withClient(db.pool, async (client) => {
      expect(await tryLockEnvironmentForTrim(client, 'dev')).toBe(true);
      try {
        const workflowId = uniqueWorkflowId('trim');
        const failure = await failureOf({ maxRows: 1 }, workflowId);
        expect(failure.type).toBe('TrimAlreadyRunning');
        // A failed trim ends with its final state, like migrations and backfills.
        expect(await stepOf(workflowId)).toBe('failed');
        expect(failure.message).toMatch(/another capacity trim of dev is running/);
      } finally {
        await unlockEnvironmentForTrim(client, 'dev');
      }
    });
    expect((await versions()).length).toBe(DEMO.plans * DEMO.versions);
  });

  test('no maxRows configured, or a bad input: fails at once with a message naming the setting', async () => {
    const none = await failureOf({ environment: 'qa' });
    expect(none.message).toMatch(/environments\.qa\.capacity\.maxRows/);
    expect(none.message).toMatch(/PLANS_DB_MAX_ROWS/);
    const bad = await failureOf({ maxRows: 0, extra: true });
    expect(bad.message).toMatch(/invalid capacityTrim input: unknown field "extra".*"maxRows" must be a positive whole number, got 0/);
  });
});
