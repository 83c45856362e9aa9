import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ScheduleNotFoundError } from '@temporalio/client';
import { SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import type { TrimReport } from '../../activities/trim';
import { PLAN_DB_ENVIRONMENT } from '../../workflows/search-attributes';
import { backfilledDatabase } from '../support/activities';
import { waitFor } from '../support/backfill';
import { runCli } from '../support/cli';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const DEMO = { plans: 5, versions: 3, series: 4, seed: 9 };
const ROWS = DEMO.plans * DEMO.versions * DEMO.series;
const URL_VAR = 'PLANDB_T_SCHEDULE_URL';
const TRIM_SCHEDULE = 'plandb-dev-trim-schedule';
const DRILL_SCHEDULE = 'plandb-dev-drill-schedule';

describe('plandb schedule and plandb trim', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;
  let configDir: string;
  let cli: (...args: string[]) => ReturnType<typeof runCli>;

  beforeAll(async () => {
    db = await backfilledDatabase(DEMO);
    await db.pool.query(`UPDATE plan_backfill_runs SET status = 'completed', finished_at = now()`);
    process.env[URL_VAR] = db.url;
    harness = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: URL_VAR } }), process.env);
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-schedule-'));
    const configPath = path.join(configDir, 'plandb.config.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify({
        temporal: { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: harness.taskQueue },
        environments: { dev: { databaseUrlEnv: URL_VAR } },
      }),
    );
    cli = (...args) => runCli(['--config', configPath, ...args]);
  });
  afterAll(async () => {
    for (const id of [TRIM_SCHEDULE, DRILL_SCHEDULE])
      await harness?.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await harness?.close();
    await db?.drop();
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  const environmentOf = (attrs: SearchAttributePair[] | TypedSearchAttributes | undefined) =>
    attrs instanceof TypedSearchAttributes
      ? attrs.get(PLAN_DB_ENVIRONMENT)
      : attrs?.find((p) => p.key.name === PLAN_DB_ENVIRONMENT.name)?.value;
  const describeSchedule = (id: string) => harness.client.schedule.getHandle(id).describe();
  const listLines = async (id: string) => (await cli('schedule', 'list')).stdout.split('\n').filter((l) => l.startsWith(`${id} `));

  test('schedule trim creates the schedule, a second call updates it, list shows it once', async () => {
    const created = await cli('schedule', 'trim', '--env', 'dev', '--cron', '0 3 * * *', '--max-rows', String(ROWS - 8));
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(
      /^created schedule plandb-dev-trim-schedule: capacityTrim \{"environment":"dev","maxRows":52\} at 0 3 \* \* \* UTC, overlap SKIP; next run \d{4}-\d\d-\d\dT03:00:00.000Z/,
    );
    const first = await describeSchedule(TRIM_SCHEDULE);
    expect(first.action).toEqual(
      expect.objectContaining({
        workflowType: 'capacityTrim',
        workflowId: 'plandb-dev-trim',
        taskQueue: harness.taskQueue,
        args: [{ environment: 'dev', maxRows: ROWS - 8 }],
      }),
    );
    expect(environmentOf(first.action.typedSearchAttributes)).toBe('dev');
    expect(first.policies.overlap).toBe('SKIP');

    const updated = await cli('schedule', 'trim', '--env', 'dev', '--cron', '30 2 * * 1-5', '--max-rows', String(ROWS - 8));
    expect(updated.code).toBe(0);
    expect(updated.stdout).toMatch(/^updated schedule plandb-dev-trim-schedule: .* at 30 2 \* \* 1-5 UTC/);
    const second = await describeSchedule(TRIM_SCHEDULE);
    expect(second.spec.calendars?.[0]).toEqual(
      expect.objectContaining({ minute: [{ start: 30, end: 30, step: 1 }], hour: [{ start: 2, end: 2, step: 1 }] }),
    );
    expect(second.policies.overlap).toBe('SKIP');
    expect(second.info.createdAt).toEqual(first.info.createdAt);

    // The list is eventually consistent: wait for the update to show.
    const lines = await waitFor(async () => {
      const found = await listLines(TRIM_SCHEDULE);
      return found.length && found[0].includes('30 2 * * 1-5') ? found : null;
    });
    expect(lines).toEqual([
      expect.stringMatching(/^plandb-dev-trim-schedule {2}capacityTrim {2}30 2 \* \* 1-5 UTC {2}next \d{4}-\d\d-\d\dT02:30:00.000Z$/),
    ]);
  });

  test('triggering the schedule runs the trim on the worker and records it', async () => {
    const trimmed = await harness.run(async () => {
      const triggered = await cli('schedule', 'trigger', TRIM_SCHEDULE);
      expect(triggered.code).toBe(0);
      const action = await waitFor(async () => (await describeSchedule(TRIM_SCHEDULE)).info.recentActions[0]?.action);
      expect(action.workflow.workflowId).toMatch(/^plandb-dev-trim-/);
      const handle = harness.client.workflow.getHandle(action.workflow.workflowId);
      const report: TrimReport = await handle.result();
      expect((await handle.describe()).typedSearchAttributes.get(PLAN_DB_ENVIRONMENT)).toBe('dev');
      return { report, workflowId: action.workflow.workflowId };
    });
    // 8 rows over: the two oldest non-latest versions (4 rows each).
    expect(trimmed.report).toEqual(expect.objectContaining({ maxRows: ROWS - 8, rowsTrimmed: 8, versionsTrimmed: 2, dryRun: false }));
    const rows = await db.pool.query(`SELECT * FROM plan_db_trim_runs WHERE workflow_id = $1`, [trimmed.workflowId]);
    expect(rows.rows).toEqual([expect.objectContaining({ environment: 'dev', rows_trimmed: 8, versions_trimmed: 2, dry_run: false })]);
  });

  test('plandb trim runs capacityTrim as plandb-<env>-trim and prints the report', async () => {
    const run = await harness.run(() => cli('trim', '--env', 'dev', '--dry-run', '--max-rows', String(ROWS - 20)));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/## plandb capacity trim \(dry run\) — dev/);
    expect(run.stdout).toMatch(/plan_series rows: 52 → 40 \(maxRows 40\): within maxRows/);
    expect(run.stdout).toMatch(/would trim 3 versions, 12 series rows; nothing was deleted/);
    const rows = await db.pool.query(`SELECT dry_run, rows_trimmed FROM plan_db_trim_runs WHERE workflow_id = 'plandb-dev-trim'`);
    expect(rows.rows).toEqual([{ dry_run: true, rows_trimmed: 12 }]);
  });

  test('schedule drill points at rollbackDrill; delete removes a schedule', async () => {
    const created = await cli('schedule', 'drill', '--env', 'dev', '--cron', '0 4 1 1,4,7,10 *');
    expect(created.code).toBe(0);
    const d = await describeSchedule(DRILL_SCHEDULE);
    expect(d.action).toEqual(
      expect.objectContaining({
        workflowType: 'rollbackDrill',
        workflowId: 'plandb-dev-drill',
        taskQueue: harness.taskQueue,
        args: [{ environment: 'dev' }],
      }),
    );
    expect(environmentOf(d.action.typedSearchAttributes)).toBe('dev');
    expect(d.policies.overlap).toBe('SKIP');
    expect(await waitFor(async () => (await listLines(DRILL_SCHEDULE))[0])).toMatch(/ rollbackDrill {2}0 4 1 1,4,7,10 \* UTC {2}next /);

    expect((await cli('schedule', 'delete', DRILL_SCHEDULE)).stdout).toMatch(/deleted plandb-dev-drill-schedule/);
    await expect(describeSchedule(DRILL_SCHEDULE)).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const again = await cli('schedule', 'delete', DRILL_SCHEDULE);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no schedule plandb-dev-drill-schedule/);
  });

  test.each([
    [['schedule', 'trim', '--env', 'dev', '--cron', '0 3 * *'], /a cron expression has 5 fields/],
    [['schedule', 'trim', '--env', 'dev', '--cron', '61 3 * * *'], /cron minute: "61" is outside 0-59/],
    [
      ['schedule', 'drill', '--env', 'dev', '--cron', '0 3 * * MON-SUN'],
      /cron day of week: "MON-SUN" is a range that ends before it starts/,
    ],
    [['schedule', 'trim', '--env', 'dev'], /required option '--cron <expr>' not specified/],
    [['schedule', 'trigger', 'some-other-schedule'], /expected a plandb schedule id/],
    [['trim', '--env', 'dev', '--max-rows', '0'], /expected a whole number from 1/],
  ])('bad arguments exit 2: plandb %j', async (args, message) => {
    const run = await cli(...(args as string[]));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
