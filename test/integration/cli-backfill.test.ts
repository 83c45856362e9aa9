import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { withClient } from '../../db/connection';
import { upgrade } from '../../db/migrator';
import { seedDemo } from '../../db/seed';
import type { BackfillResult } from '../../workflows/definitions';
import { runCli, writeCliConfig } from '../support/cli';
import { testConfig } from '../support/config';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const SMALL = { plans: 6, versions: 4, series: 8, bad: 3, seed: 5 };
const SMALL_TOTAL = SMALL.plans * SMALL.versions + SMALL.bad;
// Enough batches of 5 to pause in the middle of the run.
const LARGE = { plans: 40, versions: 5, series: 20, bad: 0, seed: 6 };
const LARGE_TOTAL = LARGE.plans * LARGE.versions;

/** Polls `probe` until it returns something (not null/undefined/false) or the time is up. */
async function until<T>(probe: () => Promise<T | null | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The run row as the state file spells it. */
async function runRow(db: TestDatabase, runId: string) {
  const res = await db.pool.query(
    `SELECT status, cursor::float8 AS cursor, up_to_id::float8 AS "upToId",
            json_build_object('artifactsRead', artifacts_read, 'versionsWritten', versions_written, 'versionsSkipped', versions_skipped,
              'versionsRejected', versions_rejected, 'versionsConflicted', versions_conflicted, 'plansWritten', plans_written,
              'seriesWritten', series_written, 'kpisWritten', kpis_written, 'eventsWritten', events_written, 'errorsCount', errors_count) AS counts
       FROM plan_backfill_runs WHERE run_id = $1`,
    [runId],
  );
  return res.rows[0];
}

async function latestRun(db: TestDatabase): Promise<{ cursor: number; upToId: number; status: string } | undefined> {
  const res = await db.pool.query(
    `SELECT cursor::float8 AS cursor, up_to_id::float8 AS "upToId", status FROM plan_backfill_runs ORDER BY started_at DESC LIMIT 1`,
  );
  return res.rows[0];
}

/** A run that has committed batches and is still going. */
const running = (run: { cursor: number; status: string } | undefined) => run?.status === 'running' && run.cursor > 0;

const jsonLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));

describe('plandb backfill, pause, resume, set-batch-size, status', () => {
  let small: TestDatabase;
  let large: TestDatabase;
  let doomed: TestDatabase;
  let harness: TemporalHarness;
  let dir: string;
  let configPath: string;
  const cli = (...args: string[]) => runCli(['--config', configPath, ...args]);
  const status = async (workflowId: string) => JSON.parse((await cli('status', workflowId, '--json')).stdout);

  beforeAll(async () => {
    [small, large, doomed] = await Promise.all([createTestDatabase(), createTestDatabase(), createTestDatabase()]);
    await Promise.all([seedDemo(small.pool, SMALL), seedDemo(large.pool, LARGE), seedDemo(doomed.pool, LARGE)]);
    await Promise.all([small, large, doomed].map((db) => withClient(db.pool, (c) => upgrade(c))));
    process.env.PLANDB_CLI_BF_DEV_URL = small.url;
    process.env.PLANDB_CLI_BF_BIG_URL = large.url;
    process.env.PLANDB_CLI_BF_DOOMED_URL = doomed.url;
    const environments = {
      dev: { databaseUrlEnv: 'PLANDB_CLI_BF_DEV_URL' },
      big: { databaseUrlEnv: 'PLANDB_CLI_BF_BIG_URL' },
      // A terminated run leaves its row running (abandoned later): it gets a database of its own.
      doomed: { databaseUrlEnv: 'PLANDB_CLI_BF_DOOMED_URL' },
    };
    harness = await createTemporalHarness(testConfig(environments), process.env);
    ({ dir, configPath } = writeCliConfig(
      'plandb-cli-bf-',
      { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: harness.taskQueue },
      environments,
    ));
  });

  afterAll(async () => {
    await harness?.close();
    await Promise.all([small?.drop(), large?.drop(), doomed?.drop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('bad arguments print usage and exit 2', () => {
    test.each([
      [['backfill', '--env', 'dev', '--dry-run', '--force'], /option '--dry-run' cannot be used with option '--force'/],
      [['backfill', '--env', 'dev', '--batch-size', '0'], /expected a whole number from 1 to 50000, got 0/],
      [['backfill', '--env', 'dev', '--batch-size', '50001'], /expected a whole number from 1 to 50000, got 50001/],
      [['backfill', '--env', 'dev', '--resume-from', 'bad id!'], /expected a previous backfill run id .* or artifact:<id>, got "bad id!"/],
      [['backfill', '--env', 'dev', '--resume-from', 'artifact:x'], /or artifact:<id>, got "artifact:x"/],
      [
        ['backfill', '--env', 'dev', '--no-wait', '--state-file', 's.json'],
        /option '--state-file <path>' cannot be used with option '--no-wait'/,
      ],
      [['set-batch-size', 'plandb-dev-backfill', 'many'], /value 'many' is invalid for argument 'n\|auto'/],
      [['backfill', '--env', 'dev', '--reconnect-timeout', '5 minutes'], /expected a duration like 90s, 5m or 1h, got "5 minutes"/],
      [['backfill', '--env', 'dev', '--reconnect-timeout', '2d'], /expected a duration of at most 24h, got "2d"/],
    ])('plandb %j', async (args, message) => {
      const run = await cli(...(args as string[]));
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(/Usage: plandb/);
    });

    test('a bad PLANDB_RECONNECT_TIMEOUT is refused the same way, naming the variable', async () => {
      process.env.PLANDB_RECONNECT_TIMEOUT = 'soon';
      try {
        const run = await cli('backfill', '--env', 'dev');
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/from env 'PLANDB_RECONNECT_TIMEOUT' is invalid\. expected a duration like 90s, 5m or 1h, got "soon"/);
        expect(run.stderr).toMatch(/Usage: plandb backfill/);
      } finally {
        delete process.env.PLANDB_RECONNECT_TIMEOUT;
      }
    });
  });

  test('a backfill runs to completion: exit 0, JSON lines, and a state file equal to the run row', async () => {
    const stateFile = path.join(dir, 'state', 'nested', 'dev.json');
    const run = await harness.run(() => cli('backfill', '--env', 'dev', '--batch-size', '5', '--state-file', stateFile));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    const lines = jsonLines(run.stdout);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.at(-1)).toMatchObject({
      status: 'completed',
      environment: 'dev',
      mode: 'normal',
      batchSize: 5,
      artifactsRead: SMALL_TOTAL,
    });

    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    expect(state).toMatchObject({ workflowId: 'plandb-dev-backfill', environment: 'dev', mode: 'normal', status: 'completed', errors: [] });
    const row = await runRow(small, state.runId);
    expect(row.status).toBe('completed');
    expect(state.counts).toEqual(row.counts);
    expect([state.cursor, state.upToId]).toEqual([row.cursor, row.upToId]);
    expect(state.counts).toMatchObject({
      artifactsRead: SMALL_TOTAL,
      versionsWritten: SMALL_TOTAL - SMALL.bad,
      versionsRejected: SMALL.bad,
    });
    // Written by rename: no temporary file is left next to it.
    expect(fs.readdirSync(path.dirname(stateFile))).toEqual(['dev.json']);
  });

  test('a run that fails exits 1 naming the error count; the state file says failed and why', async () => {
    const stateFile = path.join(dir, 'failed.json');
    // One shard: its first batch holds all 3 bad documents, so the count in the message is exact.
    const run = await harness.run(() =>
      cli('backfill', '--env', 'dev', '--dry-run', '--max-errors', '0', '--shards', '1', '--state-file', stateFile),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/plandb-dev-backfill failed: backfill run \S+ failed: 3 errors exceed maxErrors 0/);
    expect(jsonLines(run.stdout).at(-1)).toMatchObject({ status: 'failed', mode: 'dry-run', errorsCount: 3 });

    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    expect(state).toMatchObject({ status: 'failed', mode: 'dry-run', counts: expect.objectContaining({ errorsCount: 3 }) });
    expect(state.errors).toEqual([expect.stringMatching(/3 errors exceed maxErrors 0/)]);
    expect((await runRow(small, state.runId)).status).toBe('failed');
  });

  test('--no-wait prints the ids; status then follows the workflow to completed', async () => {
    await harness.run(async () => {
      const started = await cli('backfill', '--env', 'dev', '--dry-run', '--no-wait');
      expect(started.code).toBe(0);
      const ids = JSON.parse(started.stdout);
      expect(ids).toEqual({ workflowId: 'plandb-dev-backfill', runId: expect.any(String) });

      const done = await until(async () => {
        const s = await status(ids.workflowId);
        return s.workflow.status === 'COMPLETED' && s;
      }, 'the backfill to complete');
      expect(done.workflow).toMatchObject({ type: 'backfillRepository', searchAttributes: { PlanDbEnvironment: 'dev' } });
      expect(done.progress).toMatchObject({ status: 'completed', mode: 'dry-run', artifactsRead: SMALL_TOTAL });

      const text = await cli('status', ids.workflowId);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/plandb-dev-backfill \(backfillRepository\): COMPLETED/);
      expect(text.stdout).toMatch(new RegExp(`on dev \\(dry-run\\): completed, 100% \\(${SMALL_TOTAL}/${SMALL_TOTAL} artifacts`));
    });
  });

  test('status of another workflow type shows its basics; unknown ids and wrong types are refused', async () => {
    await harness.run(async () => {
      const started = await cli('preflight', '--env', 'dev', '--no-wait');
      await harness.client.workflow.getHandle(JSON.parse(started.stdout).workflowId).result();
    });
    const text = await cli('status', 'plandb-dev-preflight');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/plandb-dev-preflight \(preflight\): COMPLETED/);
    expect(text.stdout).toMatch(/search attributes: .*PlanDbEnvironment=dev/);
    expect(text.stdout).not.toMatch(/backfill run/);

    const unknown = await cli('status', 'plandb-nope-backfill');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no workflow plandb-nope-backfill/);
    const wrongType = await cli('pause', 'plandb-dev-preflight');
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toMatch(/plandb-dev-preflight is a preflight workflow, not a backfillRepository/);
  });

  test('pause stops the cursor, set-batch-size is validated, resume finishes the run', async () => {
    const id = 'plandb-big-backfill';
    await harness.run(async () => {
      expect((await cli('backfill', '--env', 'big', '--batch-size', '5', '--no-wait')).code).toBe(0);
      await until(async () => running(await latestRun(large)), 'the first batches');

      const paused = await cli('pause', id, '--by', 'alice', '--reason', 'load test');
      expect(paused.code).toBe(0);
      await until(async () => {
        const s = await status(id);
        return s.progress?.status === 'paused' && s;
      }, 'the run to pause');
      // Each shard commits the batch it was writing when the pause landed; after that nothing moves.
      await sleep(1000);
      const first = await status(id);
      const before = await latestRun(large);
      await sleep(1500);
      const after = await latestRun(large);
      expect(after).toEqual(before);
      expect(before?.status).toBe('paused');
      expect(before!.cursor).toBeLessThan(before!.upToId);
      expect((await status(id)).progress.cursor).toBe(first.progress.cursor);

      const refused = await cli('set-batch-size', id, '0');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/refused batch size 0: batchSize must be a whole number from 1 to 50000, got 0/);
      const changed = await cli('set-batch-size', id, '3');
      expect(changed.code).toBe(0);
      expect(changed.stdout).toMatch(/batch size 5 -> 3/);

      expect((await cli('resume', id, '--by', 'alice')).code).toBe(0);
      const result = (await harness.client.workflow.getHandle(id).result()) as BackfillResult;
      expect(result).toMatchObject({ status: 'completed', batchSize: 3, artifactsRead: LARGE_TOTAL, versionsWritten: LARGE_TOTAL });
    });
    const late = await cli('pause', id);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/plandb-big-backfill is not running \(COMPLETED\)/);
  });

  test('a terminated run exits 1 saying so and why; the state file says terminated', async () => {
    const stateFile = path.join(dir, 'doomed.json');
    const run = await harness.run(async () => {
      const watching = cli('backfill', '--env', 'doomed', '--batch-size', '5', '--state-file', stateFile);
      await until(async () => running(await latestRun(doomed)), 'the first batches');
      await harness.client.workflow.getHandle('plandb-doomed-backfill').terminate('operator stop');
      return watching;
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/plandb-doomed-backfill was terminated: operator stop/);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    expect(state).toMatchObject({ status: 'terminated', errors: ['plandb-doomed-backfill was terminated: operator stop'] });
  });
});
