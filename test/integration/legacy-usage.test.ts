/**
 * `plandb legacy-usage` and its activities on a real PostgreSQL whose server loads pg_stat_statements
 * (test/support/global-setup.ts starts the embedded one with shared_preload_libraries). An "application"
 * connects as its own role and reads and writes plan_artifacts; plandb's own reads run as the role plandb
 * connects as. With TEST_DATABASE_URL on a server without the library, the statement parts check that the
 * report says so and the table-level parts still hold.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createLegacyUsageActivities } from '../../activities/legacy-usage';
import { loadConfig } from '../../config/load';
import { withClient } from '../../db/connection';
import { readTableUsage } from '../../db/legacy-usage';
import { ensureLegacyTable, readArtifacts } from '../../db/legacy-reader';
import { upgrade } from '../../db/migrator';
import { seedDemo } from '../../db/seed';
import { createMetrics } from '../../metrics/registry';
import type { LegacyUsageReport, LegacyUsageSummary, StatementUsage, TableCounters } from '../../model/legacy-usage';
import { PLAN_DB_ENVIRONMENT } from '../../workflows/search-attributes';
import { activityDeps } from '../support/activities';
import { waitFor } from '../support/backfill';
import { runCli, writeCliConfig } from '../support/cli';
import { testConfig } from '../support/config';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createTemporalHarness, type TemporalHarness } from '../support/temporal';
import { parseExposition, samplesOf } from '../support/prometheus-text';

const SCHEDULE = 'plandb-app-legacy-usage-schedule';

type Reported = LegacyUsageReport & { reset: { snapshotId: number; takenAt: string } | null };

describe('plandb legacy-usage', () => {
  let db: TestDatabase;
  let bare: TestDatabase;
  let dir: string;
  let configPath: string;
  let appUrl: string;
  let harness: TemporalHarness;
  /** The server loads pg_stat_statements (always with the embedded server). */
  let statementsLoaded = false;
  const role = `plan_app_${randomBytes(4).toString('hex')}`;
  const env = { PLANDB_LEGACY_APP_URL: '', PLANDB_LEGACY_BARE_URL: '' };
  const cli = (...args: string[]) => runCli(['--config', configPath, ...args]);
  const report = async (...args: string[]): Promise<Reported> => {
    const run = await cli('legacy-usage', '--json', ...args);
    if (run.code !== 0) throw new Error(`legacy-usage ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
    return JSON.parse(run.stdout) as Reported;
  };

  /** One session of the application: its own role, closed at the end (which flushes its table statistics). */
  async function asApplication(url: string, statements: [string, unknown[]][]): Promise<void> {
    const client = new pg.Client({ connectionString: url, application_name: 'planning-app' });
    await client.connect();
    try {
      for (const [text, values] of statements) await client.query(text, values);
    } finally {
      await client.end();
    }
  }

  /** Table statistics reach pg_stat_user_tables when a session flushes them (at its exit): wait for them. */
  const countersReach = (pool: pg.Pool, enough: (c: TableCounters) => boolean) =>
    waitFor(
      async () => {
        const now = await readTableUsage(pool);
        return now && enough(now.counters) ? now.counters : null;
      },
      30_000,
      'the table statistics',
    );

  const insert = (planId: string, version: number): [string, unknown[]] => [
    'INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ($1, $2, $3)',
    [planId, version, JSON.stringify({ name: planId, series: [] })],
  ];
  const byQuery = (list: StatementUsage[], pattern: RegExp) => list.filter((s) => pattern.test(s.query));

  beforeAll(async () => {
    db = await createTestDatabase();
    await withClient(db.pool, (c) => upgrade(c));
    await seedDemo(db.pool, { plans: 3, versions: 1, series: 2, bad: 0 });
    // The seeding session's statistics arrive when it flushes them: before the first reset point.
    await countersReach(db.pool, (c) => c.nTupIns >= 3);
    const loaded = await db.pool.query<{ libs: string }>(`SELECT current_setting('shared_preload_libraries') AS libs`);
    statementsLoaded = loaded.rows[0].libs.split(',').some((l) => l.trim() === 'pg_stat_statements');
    // Where the library is not loaded (a TEST_DATABASE_URL server), creating the extension still works: its view then refuses to be read.
    await db.pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await db.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'app-password'`);
    await db.pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON plan_artifacts TO ${role}`);
    await db.pool.query(`GRANT USAGE ON SEQUENCE plan_artifacts_id_seq TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = 'app-password';
    appUrl = url.toString();

    bare = await createTestDatabase();
    await withClient(bare.pool, (c) => upgrade(c));
    await ensureLegacyTable(bare.pool);

    env.PLANDB_LEGACY_APP_URL = db.url;
    env.PLANDB_LEGACY_BARE_URL = bare.url;
    Object.assign(process.env, env);
    const environments = { app: { databaseUrlEnv: 'PLANDB_LEGACY_APP_URL' }, bare: { databaseUrlEnv: 'PLANDB_LEGACY_BARE_URL' } };
    harness = await createTemporalHarness(testConfig(environments, env), { ...process.env, ...env });
    ({ dir, configPath } = writeCliConfig(
      'plandb-legacy-usage-',
      { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: harness.taskQueue },
      environments,
    ));
  });

  afterAll(async () => {
    await harness?.client.schedule
      .getHandle(SCHEDULE)
      .delete()
      .catch(() => undefined);
    await harness?.close();
    await db?.drop();
    await bare?.drop();
    // The role owns nothing once its database is gone.
    const admin = new pg.Client({ connectionString: process.env.PLANDB_TEST_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`).finally(() => admin.end());
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    [['legacy-usage'], /required option '--env <environment>' not specified/],
    [['legacy-usage', '--env', 'app', '--since', 'yesterday'], /expected an ISO time .* got "yesterday"/],
    [['legacy-usage', '--env', 'app', '--since', '0'], /expected an ISO time/],
    [['legacy-usage', '--env', 'app', '--by', 'al\u0007ice'], /"by" contains control characters/],
    [['legacy-usage', '--env', 'app', '--force'], /unknown option '--force'/],
    [['legacy-usage', '--env', 'Bad Env'], /environment/],
  ])('bad arguments %j: usage, exit 2', async (args, message) => {
    const run = await cli(...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/Usage: plandb legacy-usage/);
  });

  test("the application's reads and writes since a reset, with its statements; plandb's own reads labelled apart", async () => {
    const first = await report('--env', 'app', '--reset');
    expect(first.since).toMatchObject({ id: null, kind: 'statistics' });
    expect(first.reset).toEqual({ environment: 'app', kind: 'reset', snapshotId: expect.any(Number), takenAt: expect.any(String) });
    const resetAt = first.reset!.takenAt;

    const before = (await readTableUsage(db.pool))!.counters;
    await asApplication(appUrl, [
      insert('app-plan-1', 1),
      insert('app-plan-2', 1),
      [
        'UPDATE plan_artifacts SET payload = $1 WHERE plan_id = $2 AND version = $3',
        [JSON.stringify({ name: 'renamed' }), 'app-plan-1', 1],
      ],
      ['SELECT payload FROM plan_artifacts WHERE plan_id = $1', ['app-plan-2']],
    ]);
    // plandb's own reader, on plandb's pool (its role).
    expect((await readArtifacts(db.pool, { afterId: 0, limit: 100 })).length).toBe(5);
    await countersReach(db.pool, (c) => c.nTupIns >= before.nTupIns + 2 && c.nTupUpd >= before.nTupUpd + 1);

    const r = await report('--env', 'app');
    expect(r.since).toEqual({ id: first.reset!.snapshotId, kind: 'reset', at: resetAt });
    expect(r.table).toMatchObject({ present: true, writes: 3, restarted: null });
    expect(r.table.counters).toMatchObject({ nTupIns: 2, nTupUpd: 1, nTupDel: 0 });
    expect(r.table.reads).toBeGreaterThanOrEqual(1);

    if (!statementsLoaded) {
      expect(r.statements).toMatchObject({ available: false, unavailableReason: expect.stringMatching(/shared_preload_libraries/) });
      return;
    }
    const app = r.statements.application;
    expect(r.statements).toMatchObject({ available: true, plandbRole: 'postgres', restarted: null });
    expect(byQuery(app, /^INSERT INTO plan_artifacts/)).toEqual([
      expect.objectContaining({ kind: 'write', calls: 2, rows: 2, role, plandb: false }),
    ]);
    expect(byQuery(app, /^UPDATE plan_artifacts/)).toEqual([expect.objectContaining({ kind: 'write', calls: 1, rows: 1, role })]);
    expect(byQuery(app, /^SELECT payload FROM plan_artifacts/)).toEqual([
      expect.objectContaining({ kind: 'read', calls: 1, rows: 1, role }),
    ]);
    // Constants are normalized away: no plan id or payload in the report.
    expect(JSON.stringify(app)).not.toMatch(/app-plan|renamed/);
    expect(app.every((s) => s.role === role && s.lastSeen.after! >= resetAt && s.lastSeen.notAfter === r.measuredAt)).toBe(true);
    // plandb's reader is labelled plandb's, not the application's.
    expect(byQuery(r.statements.plandb, /FROM plan_artifacts a\s+WHERE a\.id > \$1/)).toEqual([
      expect.objectContaining({ kind: 'read', calls: 1, rows: 5, role: 'postgres', plandb: true }),
    ]);

    const text = await cli('legacy-usage', '--env', 'app', '--since', String(first.reset!.snapshotId));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/app: plan_artifacts usage since reset \d+ .*; measured .* \(report \d+\)/);
    expect(text.stdout).toMatch(/3 writes \(2 inserted, 1 updated, 0 deleted\)/);
    expect(text.stdout).toMatch(
      new RegExp(`write calls 2, rows 2, role ${role}, last seen after .* and by .*\\n\\s+INSERT INTO plan_artifacts`),
    );
    expect(text.stdout).toMatch(/statements by plandb's role postgres/);
  });

  test('--since picks the reference; the readings in between date each statement', async () => {
    const reset = (await report('--env', 'app')).since;
    const r1 = await report('--env', 'app');
    const before = (await readTableUsage(db.pool))!.counters;
    await asApplication(appUrl, [
      ['SELECT payload FROM plan_artifacts WHERE plan_id = $1', ['app-plan-1']],
      ['SELECT payload FROM plan_artifacts WHERE plan_id = $1', ['app-plan-2']],
    ]);
    await countersReach(db.pool, (c) => c.seqScan + c.idxScan >= before.seqScan + before.idxScan + 2);

    const sinceReset = await report('--env', 'app');
    expect(sinceReset.since).toEqual(reset);
    const sinceR1 = await report('--env', 'app', '--since', String(r1.snapshotId));
    expect(sinceR1.since).toEqual({ id: r1.snapshotId, kind: 'report', at: r1.measuredAt });
    expect(sinceR1.table.writes).toBe(0);
    expect(sinceR1.table.reads).toBeGreaterThanOrEqual(2);
    const byTime = await report('--env', 'app', '--since', reset.at!);
    expect(byTime.since).toEqual(reset);

    if (statementsLoaded) {
      // Since the reset: the inserts were last seen before r1 (no call since), the selects after it.
      const [inserts] = byQuery(sinceReset.statements.application, /^INSERT/);
      expect(inserts.calls).toBe(2);
      expect(inserts.lastSeen.after! >= reset.at!).toBe(true);
      expect(inserts.lastSeen.notAfter <= r1.measuredAt).toBe(true);
      const [selects] = byQuery(sinceReset.statements.application, /^SELECT payload/);
      expect(selects).toMatchObject({ calls: 3, lastSeen: { after: r1.measuredAt, notAfter: sinceReset.measuredAt } });
      // Since r1 only the selects were used.
      expect(sinceR1.statements.application.map((s) => [s.kind, s.calls, s.query])).toEqual([
        ['read', 2, 'SELECT payload FROM plan_artifacts WHERE plan_id = $1'],
      ]);
    }

    for (const [since, message] of [
      ['999999999', /no reading with id 999999999 for app/],
      ['2000-01-01T00:00:00Z', /no reading at or before 2000-01-01T00:00:00.000Z for app/],
      ['cutover', /no cut-over was recorded for app \(plandb legacy-usage --env app --reset records one\)/],
    ] as const) {
      const run = await cli('legacy-usage', '--env', 'app', '--since', since);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(message);
    }
  });

  test('the cut-over: recorded by the activity, the gauges count writes since then, a later --reset acknowledges them', async () => {
    const config = loadConfig({ path: configPath, env: { ...process.env, ...env } });
    const deps = activityDeps(config, { ...process.env, ...env });
    const live = createMetrics(new Registry(), { config, databases: deps.databases });
    const gauges = async () => parseExposition(await live.registry.metrics());
    const writesSince = async () => samplesOf(await gauges(), 'plan_legacy_table_writes_since_cutover', { environment: 'app' })[0]?.value;
    try {
      expect(await writesSince()).toBeUndefined();
      const { recordLegacyCutover, legacyUsageReport } = createLegacyUsageActivities(deps);
      const cut = await recordLegacyCutover({ environment: 'app', workflowId: 'plandb-app-migration', actor: 'plandb' });
      // A retried activity finds the cut-over it recorded.
      expect(await recordLegacyCutover({ environment: 'app', workflowId: 'plandb-app-migration' })).toEqual(cut);
      const at = await gauges();
      expect(samplesOf(at, 'plan_legacy_table_writes_since_cutover', { environment: 'app' })[0].value).toBe(0);
      expect(samplesOf(at, 'plan_legacy_cutover_timestamp_seconds', { environment: 'app' })[0].value).toBe(Date.parse(cut.takenAt) / 1000);
      // Nothing for an environment without a cut-over.
      expect(samplesOf(at, 'plan_legacy_table_writes_since_cutover', { environment: 'bare' })).toEqual([]);

      await asApplication(appUrl, [insert('late-plan', 1)]);
      await waitFor(async () => (await writesSince()) === 1, 30_000, 'the write after the cut-over in the gauge');

      const summary = await legacyUsageReport({ environment: 'app', since: 'cutover' });
      expect(summary).toMatchObject({ since: { id: cut.snapshotId, kind: 'cutover' }, writes: 1, statementsAvailable: statementsLoaded });
      if (statementsLoaded) expect(summary).toMatchObject({ applicationWrites: 1, applicationCalls: 1 });
      const stored = await db.pool.query<{ report: LegacyUsageReport }>(`SELECT report FROM plan_legacy_usage_snapshots WHERE id = $1`, [
        summary.snapshotId,
      ]);
      expect(stored.rows[0].report).toMatchObject({ snapshotId: summary.snapshotId, table: { writes: 1 } });

      await report('--env', 'app', '--reset', '--by', 'sre-oncall');
      expect(await writesSince()).toBe(0);
    } finally {
      await deps.databases.close();
    }
  });

  test('pg_stat_reset and pg_stat_statements_reset since the reference are detected', async () => {
    const { reset } = await report('--env', 'app', '--reset');
    const before = (await readTableUsage(db.pool))!.counters;
    await asApplication(appUrl, [insert('after-reset', 1)]);
    // Flushed before the reset, so that only the second insert counts after it.
    await countersReach(db.pool, (c) => c.nTupIns >= before.nTupIns + 1);
    await db.pool.query('SELECT pg_stat_reset()');
    if (statementsLoaded) await db.pool.query('SELECT pg_stat_statements_reset()');
    await asApplication(appUrl, [insert('after-stats-reset', 1)]);
    await countersReach(db.pool, (c) => c.nTupIns >= 1);

    const r = await report('--env', 'app');
    expect(r.since.id).toBe(reset!.snapshotId);
    expect(r.table.restarted).toMatch(/the statistics were reset at .* \(pg_stat_reset\)/);
    // Counted since the reset: the second insert only.
    expect(r.table.counters.nTupIns).toBe(1);
    if (statementsLoaded) {
      expect(r.statements.restarted).toMatch(/pg_stat_statements was reset at/);
      expect(byQuery(r.statements.application, /^INSERT/)).toEqual([expect.objectContaining({ calls: 1 })]);
    }
    const text = await cli('legacy-usage', '--env', 'app', '--since', String(reset!.snapshotId));
    expect(text.stdout).toMatch(/! the counters started over: the statistics were reset at/);
  });

  test('without pg_stat_statements in the database the table-level report still works', async () => {
    const { reset } = await report('--env', 'bare', '--reset');
    const before = (await readTableUsage(bare.pool))!.counters;
    const url = bare.url;
    await asApplication(url, [insert('bare-plan', 1), ['DELETE FROM plan_artifacts WHERE plan_id = $1', ['bare-plan']]]);
    await countersReach(bare.pool, (c) => c.nTupDel >= before.nTupDel + 1);

    const r = await report('--env', 'bare');
    expect(r.since.id).toBe(reset!.snapshotId);
    expect(r.table).toMatchObject({ present: true, writes: 2, counters: expect.objectContaining({ nTupIns: 1, nTupDel: 1 }) });
    expect(r.statements).toMatchObject({
      available: false,
      unavailableReason: expect.stringMatching(/not created in this database \(CREATE EXTENSION pg_stat_statements\)/),
      application: [],
      plandb: [],
    });
    const text = await cli('legacy-usage', '--env', 'bare');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/statements: not available: the extension pg_stat_statements is not created/);
  });

  test('a Schedule runs the legacyUsage workflow on the worker: the report is stored with its workflow; bad input fails naming the field', async () => {
    const created = await cli('schedule', 'legacy-usage', '--env', 'app', '--cron', '0 * * * *', '--since', 'cutover');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      /^created schedule plandb-app-legacy-usage-schedule: legacyUsage \{"environment":"app","since":"cutover"\} at 0 \* \* \* \* UTC, overlap SKIP/,
    );
    expect((await cli('schedule', 'legacy-usage', '--env', 'app', '--cron', '0 * * * *', '--since', 'soon')).code).toBe(2);
    const ran = await harness.run(async () => {
      expect((await cli('schedule', 'trigger', SCHEDULE)).code).toBe(0);
      const action = await waitFor(
        async () => (await harness.client.schedule.getHandle(SCHEDULE).describe()).info.recentActions[0]?.action,
      );
      expect(action.workflow.workflowId).toMatch(/^plandb-app-legacy-usage-/);
      const handle = harness.client.workflow.getHandle(action.workflow.workflowId);
      const summary: LegacyUsageSummary = await handle.result();
      expect((await handle.describe()).typedSearchAttributes.get(PLAN_DB_ENVIRONMENT)).toBe('app');
      const bad = harness.client.workflow.execute('legacyUsage', {
        workflowId: `${action.workflow.workflowId}-bad`,
        taskQueue: harness.taskQueue,
        args: [{ environment: 'app', since: 'soon', extra: 1 }],
      });
      await expect(bad).rejects.toMatchObject({
        cause: expect.objectContaining({ message: expect.stringMatching(/unknown field "extra" .*; "since": expected an ISO time/) }),
      });
      return { summary, workflowId: action.workflow.workflowId };
    });
    expect(ran.summary).toMatchObject({ since: { kind: 'cutover' }, statementsAvailable: statementsLoaded });
    const row = await db.pool.query<{ workflow_id: string; kind: string }>(
      `SELECT workflow_id, kind FROM plan_legacy_usage_snapshots WHERE id = $1`,
      [ran.summary.snapshotId],
    );
    expect(row.rows).toEqual([{ workflow_id: ran.workflowId, kind: 'report' }]);
  });
});
