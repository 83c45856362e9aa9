/**
 * Error replay (`retryErrors` / `plandb backfill --retry-errors RUN_ID`): after the application team fixed
 * some bad artifacts in plan_artifacts, a new run linked to the old one re-reads only the artifacts of its
 * unresolved errors: fixed ones are written, still-bad ones recorded again, the old errors marked resolved.
 */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { getRun, latestRealRun, setRunStatus } from '../../db/backfill-runs';
import { withClient } from '../../db/connection';
import { upgrade } from '../../db/migrator';
import { seedDemo } from '../../db/seed';
import type { DemoOptions } from '../../transform/demo-payloads';
import { pauseSignal, resumeSignal, type BackfillResult } from '../../workflows/definitions';
import { openRun } from '../support/activities';
import { failureMessages } from '../support/failures';
import { seededDatabase, startBackfill, waitFor } from '../support/backfill';
import { runCli, writeCliConfig } from '../support/cli';
import { testConfig } from '../support/config';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const DEV_VAR = 'PLANDB_T_REPLAY_DEV_URL';
const TWIN_VAR = 'PLANDB_T_REPLAY_TWIN_URL';
const BAD_VAR = 'PLANDB_T_REPLAY_BAD_URL';
const CLI_VAR = 'PLANDB_T_REPLAY_CLI_URL';

const FIRST: DemoOptions = { plans: 3, versions: 3, series: 6, seed: 31 };
// Seeding again with more plans appends plans 4..5 after the poison rows.
const ALL: DemoOptions = { ...FIRST, plans: 5 };
// Bad rows of every seedable reason, spread over the plans: enough one-artifact batches to pause and cancel between.
const MANY_BAD: DemoOptions = { plans: 4, versions: 2, series: 4, bad: 40, seed: 32 };
const CLI_DEMO: DemoOptions = { plans: 3, versions: 2, series: 4, bad: 3, seed: 33 };

const row = (over: Record<string, unknown>) => ({
  item: 'SKU-1',
  location: 'TOKYO',
  period: '2026-01',
  metric: 'demand',
  value: 1,
  ...over,
});
const doc = (series: unknown) => JSON.stringify({ name: 'Poison plan', status: 'draft', series });
const GOOD = doc([row({})]);

/** Demo plans, the poison documents (plan "poison", versions 1..n), more demo plans; migrated. */
async function databaseWith(poison: string[]): Promise<{ db: TestDatabase; ids: number[] }> {
  const db = await createTestDatabase();
  await seedDemo(db.pool, FIRST);
  const ids: number[] = [];
  for (const [i, payload] of poison.entries()) {
    const res = await db.pool.query<{ id: number }>(
      `INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('poison', $1, $2::jsonb) RETURNING id`,
      [i + 1, payload],
    );
    ids.push(Number(res.rows[0].id));
  }
  await seedDemo(db.pool, ALL);
  await withClient(db.pool, (c) => upgrade(c));
  return { db, ids };
}

/** What the application team does: the payload of `ids` replaced by a valid document. */
async function fix(db: TestDatabase, ids: number[], payload = GOOD): Promise<void> {
  await db.pool.query(`UPDATE plan_artifacts SET payload = $2::jsonb WHERE id = ANY($1::int8[])`, [ids, payload]);
}

/** A run's errors by artifact id: reason, and the run that resolved it (null: unresolved). */
async function errorsOf(db: TestDatabase, runId: string) {
  const res = await db.pool.query<{ artifact_id: number; reason: string; resolved_by_run_id: string | null; resolved: boolean }>(
    `SELECT artifact_id, reason, resolved_by_run_id, resolved_at IS NOT NULL AS resolved FROM plan_backfill_errors WHERE run_id = $1 ORDER BY artifact_id`,
    [runId],
  );
  for (const r of res.rows) expect(r.resolved).toBe(r.resolved_by_run_id !== null);
  return res.rows.map((r) => [Number(r.artifact_id), r.reason, r.resolved_by_run_id]);
}

const writtenIds = async (db: TestDatabase) =>
  (await db.pool.query<{ id: number }>(`SELECT source_artifact_id AS id FROM plan_versions ORDER BY 1`)).rows.map((r) => Number(r.id));
const allIds = async (db: TestDatabase) =>
  (await db.pool.query<{ id: number }>(`SELECT id FROM plan_artifacts ORDER BY id`)).rows.map((r) => Number(r.id));
const retryOfColumn = async (db: TestDatabase, runId: string) =>
  (await db.pool.query(`SELECT retry_of_run_id FROM plan_backfill_runs WHERE run_id = $1`, [runId])).rows[0]?.retry_of_run_id;

describe('error replay', () => {
  let db: TestDatabase;
  let poison: number[];
  let harness: TemporalHarness;
  let bad: TestDatabase;
  let cliDb: TestDatabase;
  let dir: string;
  let configPath: string;
  const cli = (...args: string[]) => runCli(['--config', configPath, ...args]);

  const run = (input: Record<string, unknown>) =>
    harness.run(async () => (await (await startBackfill(harness, input)).result()) as BackfillResult);
  const refusal = async (input: Record<string, unknown>): Promise<string> => {
    const err: unknown = await run(input).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return failureMessages(err);
  };

  beforeAll(async () => {
    ({ db, ids: poison } = await databaseWith([
      doc([row({ value: '1e400' })]), // number_out_of_range
      doc('nope'), // series_not_array
      doc([row({}), row({ period: 'x'.repeat(10_000) })]), // key_too_long
      doc([row({ value: '1e400' })]), // deleted by the application team
      doc([row({ value: 'abc' })]), // value_not_finite
    ]));
    [bad, cliDb] = await Promise.all([seededDatabase(MANY_BAD), seededDatabase(CLI_DEMO)]);
    process.env[CLI_VAR] = cliDb.url;
    const env = { [DEV_VAR]: db.url, [TWIN_VAR]: db.url, [BAD_VAR]: bad.url, [CLI_VAR]: cliDb.url };
    const environments = {
      dev: { databaseUrlEnv: DEV_VAR },
      // The same database under another name: its runs are dev's, not twin's.
      twin: { databaseUrlEnv: TWIN_VAR },
      bad: { databaseUrlEnv: BAD_VAR },
      replay: { databaseUrlEnv: CLI_VAR },
    };
    harness = await createTemporalHarness(testConfig(environments, env), env);
    ({ dir, configPath } = writeCliConfig(
      'plandb-replay-',
      { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: harness.taskQueue },
      { replay: environments.replay },
    ));
  });

  afterAll(async () => {
    await harness?.close();
    await Promise.all([db?.drop(), bad?.drop(), cliDb?.drop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    delete process.env[CLI_VAR];
  });

  test('fixed errors are written, still-bad ones recorded again, the old errors marked; a chain of retries settles them all', async () => {
    const first = await run({ batchSize: 4 });
    expect(first).toEqual(expect.objectContaining({ status: 'completed', versionsRejected: 5, errorsCount: 5 }));
    expect(first.retryOf).toBeUndefined();
    const firstId = first.runId!;
    expect(await errorsOf(db, firstId)).toEqual([
      [poison[0], 'number_out_of_range', null],
      [poison[1], 'series_not_array', null],
      [poison[2], 'key_too_long', null],
      [poison[3], 'number_out_of_range', null],
      [poison[4], 'value_not_finite', null],
    ]);

    // Two fixed, one deleted, two still bad; one-artifact batches that continue as new after each chunk.
    await fix(db, [poison[0], poison[2]]);
    await db.pool.query(`DELETE FROM plan_artifacts WHERE id = $1`, [poison[3]]);
    const second = await run({ retryErrors: firstId, batchSize: 1, chunkBudgetMs: 1, continueAsNewAfterChunks: 1 });
    const secondId = second.runId!;
    expect(second).toEqual(
      expect.objectContaining({
        status: 'completed',
        retryOf: firstId,
        artifactsTotal: 5,
        artifactsRead: 5,
        versionsWritten: 2,
        plansWritten: 1,
        versionsRejected: 2,
        errorsCount: 2,
      }),
    );
    expect(second.continuedAsNew).toBeGreaterThanOrEqual(3);
    expect(await retryOfColumn(db, secondId)).toBe(firstId);
    expect((await getRun(db.pool, secondId))!.retryOf).toBe(firstId);
    expect(await errorsOf(db, secondId)).toEqual([
      [poison[1], 'series_not_array', null],
      [poison[4], 'value_not_finite', null],
    ]);
    expect(await errorsOf(db, firstId)).toEqual([
      [poison[0], 'number_out_of_range', secondId],
      [poison[1], 'series_not_array', null],
      [poison[2], 'key_too_long', secondId],
      [poison[3], 'number_out_of_range', secondId],
      [poison[4], 'value_not_finite', null],
    ]);
    const runOf = await db.pool.query(`SELECT version, backfill_run_id FROM plan_versions WHERE plan_id = 'poison' ORDER BY version`);
    expect(runOf.rows).toEqual([
      { version: 1, backfill_run_id: secondId },
      { version: 3, backfill_run_id: secondId },
    ]);
    const stillBad = [poison[1], poison[4]];
    expect(await writtenIds(db)).toEqual((await allIds(db)).filter((id) => !stillBad.includes(id)));

    // Retrying the newest run of the chain settles the first run's errors too.
    await fix(db, stillBad);
    const third = await run({ retryErrors: secondId, batchSize: 50 });
    const thirdId = third.runId!;
    expect(third).toEqual(
      expect.objectContaining({ status: 'completed', retryOf: secondId, artifactsTotal: 2, versionsWritten: 2, errorsCount: 0 }),
    );
    expect(await errorsOf(db, secondId)).toEqual([
      [poison[1], 'series_not_array', thirdId],
      [poison[4], 'value_not_finite', thirdId],
    ]);
    expect((await errorsOf(db, firstId)).map((e) => e[2])).toEqual([secondId, thirdId, secondId, secondId, thirdId]);
    expect(await writtenIds(db)).toEqual(await allIds(db));

    // Nothing is left to retry of any of them.
    expect(await refusal({ retryErrors: secondId })).toMatch(
      `retryErrors: all 2 errors of run ${secondId} are already resolved (by run ${thirdId})`,
    );
    expect(await refusal({ retryErrors: thirdId })).toMatch(`retryErrors: run ${thirdId} recorded no errors: there is nothing to retry`);
  });

  test('a conflict is recorded again without force, and rewritten and resolved with it', async () => {
    // A version already written whose legacy row changed since: a later backfill over it reports a conflict.
    const target = (await allIds(db))[0];
    await fix(db, [target], doc([row({ value: 42 })]));
    const scan = await run({ resumeFrom: `artifact:${target - 1}`, limit: 1 });
    expect(scan).toEqual(expect.objectContaining({ status: 'completed', versionsConflicted: 1 }));
    expect(await errorsOf(db, scan.runId!)).toEqual([[target, 'conflict', null]]);

    const normal = await run({ retryErrors: scan.runId });
    expect(normal).toEqual(expect.objectContaining({ status: 'completed', versionsConflicted: 1, versionsWritten: 0 }));
    expect(await errorsOf(db, normal.runId!)).toEqual([[target, 'conflict', null]]);
    expect(await errorsOf(db, scan.runId!)).toEqual([[target, 'conflict', null]]);

    const forced = await run({ retryErrors: normal.runId, force: true });
    expect(forced).toEqual(expect.objectContaining({ status: 'completed', mode: 'force', versionsWritten: 1, errorsCount: 0 }));
    expect((await errorsOf(db, scan.runId!)).map((e) => e[2])).toEqual([forced.runId]);
    const stored = await db.pool.query(
      `SELECT value FROM plan_series WHERE (plan_id, version) = (SELECT plan_id, version FROM plan_artifacts WHERE id = $1)`,
      [target],
    );
    expect(stored.rows).toEqual([{ value: 42 }]);

    // A retry run is no range run: a migration does not resume from it, nor does --resume-from.
    expect((await latestRealRun(db.pool, 'dev'))!.runId).toBe(scan.runId);
    expect(await refusal({ resumeFrom: forced.runId })).toMatch(
      `resumeFrom: run ${forced.runId} retried the errors of run ${normal.runId}; to continue it, start --retry-errors ${normal.runId} again`,
    );
  });

  test('refuses an unknown run, a run of another environment, a run still active, a dry run, with nothing started', async () => {
    const runs = async () => Number((await db.pool.query(`SELECT count(*) AS n FROM plan_backfill_runs`)).rows[0].n);
    const before = await runs();
    const unknown = randomUUID();
    expect(await refusal({ retryErrors: unknown })).toMatch(`retryErrors: no backfill run "${unknown}" in dev`);

    const dry = await run({ dryRun: true });
    expect(await refusal({ retryErrors: dry.runId })).toMatch(`retryErrors: run ${dry.runId} is a dry run and wrote nothing`);
    expect(await refusal({ environment: 'twin', retryErrors: dry.runId })).toMatch(
      `retryErrors: run ${dry.runId} belongs to dev, not twin`,
    );

    // An open run whose workflow runs (on a queue no worker polls), so the reconciler leaves it open.
    const owner = await harness.client.workflow.start('backfillRepository', {
      workflowId: `replay-owner-${randomUUID()}`,
      taskQueue: `nobody-${randomUUID()}`,
      args: [{ environment: 'dev' }],
    });
    const active = await openRun(db.pool, randomUUID(), { workflowId: owner.workflowId });
    try {
      expect(await refusal({ retryErrors: active })).toMatch(
        `retryErrors: run ${active} is still running (workflow ${owner.workflowId}): let it end or cancel it, then retry its errors`,
      );
    } finally {
      await setRunStatus(db.pool, active, 'cancelled', { reason: 'test' });
      await owner.terminate('test over');
    }
    // The dry run and the open run are the only rows added.
    expect(await runs()).toBe(before + 2);

    const invalid = await refusal({ retryErrors: dry.runId, dryRun: true, shards: 2 });
    expect(invalid).toMatch('"retryErrors" and "dryRun" cannot both be set');
    expect(invalid).toMatch('"retryErrors" runs in one shard');
  });

  test('a retry run pauses, resumes and cancels between batches; a new retry continues with what is left', async () => {
    const first = await run({ environment: 'bad', batchSize: 50 });
    expect(first).toEqual(expect.objectContaining({ status: 'completed', errorsCount: MANY_BAD.bad }));
    const badIds = (await errorsOf(bad, first.runId!)).map((e) => e[0] as number);
    const good = await bad.pool.query(`SELECT payload::text AS p FROM plan_artifacts WHERE plan_id = 'plan-00001' AND version = 1`);
    await fix(bad, badIds, good.rows[0].p);
    const resolvedBy = async (runId: string) =>
      Number((await bad.pool.query(`SELECT count(*) AS n FROM plan_backfill_errors WHERE resolved_by_run_id = $1`, [runId])).rows[0].n);
    const latest = async () =>
      getRun(bad.pool, (await bad.pool.query(`SELECT run_id FROM plan_backfill_runs ORDER BY started_at DESC LIMIT 1`)).rows[0].run_id);

    const cancelled = await harness.run(async () => {
      const handle: WorkflowHandle = await startBackfill(harness, {
        environment: 'bad',
        retryErrors: first.runId,
        batchSize: 1,
        chunkBudgetMs: 1,
      });
      const started = await waitFor(async () => {
        const r = await latest();
        return r && r.retryOf === first.runId && r.artifactsRead > 0 ? r : null;
      });
      await handle.signal(pauseSignal, { by: 'test', reason: 'look at the fixes' });
      await waitFor(async () => (await getRun(bad.pool, started.runId))!.status === 'paused', 60_000, 'the retry run to pause');
      await new Promise((r) => setTimeout(r, 1000));
      const paused = (await getRun(bad.pool, started.runId))!;
      await new Promise((r) => setTimeout(r, 1000));
      expect((await getRun(bad.pool, started.runId))!.cursor).toBe(paused.cursor);
      // Every fixed artifact read so far was written and its old error resolved, in the batch that read it.
      expect(await resolvedBy(started.runId)).toBe(paused.artifactsRead);
      expect(paused.artifactsRead).toBeLessThan(MANY_BAD.bad!);

      await handle.signal(resumeSignal, { by: 'test' });
      await waitFor(async () => (await getRun(bad.pool, started.runId))!.artifactsRead > paused.artifactsRead);
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow(WorkflowFailedError);
      return (await getRun(bad.pool, started.runId))!;
    });
    expect(cancelled).toEqual(expect.objectContaining({ status: 'cancelled', closedReason: 'workflow cancelled', errorsCount: 0 }));
    expect(await resolvedBy(cancelled.runId)).toBe(cancelled.artifactsRead);
    expect(cancelled.versionsWritten).toBe(cancelled.artifactsRead);

    const rest = await run({ environment: 'bad', retryErrors: first.runId, batchSize: 7 });
    expect(rest).toEqual(
      expect.objectContaining({
        status: 'completed',
        retryOf: first.runId,
        artifactsTotal: MANY_BAD.bad! - cancelled.artifactsRead,
        versionsWritten: MANY_BAD.bad! - cancelled.artifactsRead,
        errorsCount: 0,
      }),
    );
    expect((await errorsOf(bad, first.runId!)).every((e) => e[2] === cancelled.runId || e[2] === rest.runId)).toBe(true);
    expect(await writtenIds(bad)).toEqual(await allIds(bad));
  });

  describe('plandb backfill --retry-errors', () => {
    const UUID = '0b6c1c3e-6f0e-4d2a-9a53-6f1f4f0c2d11';
    test.each([
      [['--retry-errors', 'last'], /expected the id of a previous backfill run \(a UUID, as `plandb status` shows\), got "last"/],
      [['--retry-errors', UUID, '--dry-run'], /option '--retry-errors <run-id>' cannot be used with option '--dry-run'/],
      [['--retry-errors', UUID, '--resume-from', UUID], /option '--retry-errors <run-id>' cannot be used with option '--resume-from/],
      [['--retry-errors', UUID, '--limit', '5'], /option '--retry-errors <run-id>' cannot be used with option '--limit <n>'/],
      [['--retry-errors', UUID, '--shards', '2'], /option '--retry-errors <run-id>' cannot be used with option '--shards <n>'/],
    ])('bad arguments %j print usage and exit 2', async (args, message) => {
      const out = await cli('backfill', '--env', 'replay', ...(args as string[]));
      expect(out.code).toBe(2);
      expect(out.stderr).toMatch(message);
      expect(out.stderr).toMatch(/Usage: plandb backfill/);
    });

    test('retries a run from the CLI; status shows the link; a second retry is refused with exit 1', async () => {
      const lastLine = (stdout: string) =>
        JSON.parse(
          stdout
            .trim()
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .at(-1)!,
        );
      await harness.run(async () => {
        const first = await cli('backfill', '--env', 'replay', '--json');
        expect(first.code).toBe(0);
        const firstRun = lastLine(first.stdout);
        expect(firstRun).toEqual(expect.objectContaining({ status: 'completed', errorsCount: CLI_DEMO.bad }));
        const ids = (await errorsOf(cliDb, firstRun.runId)).map((e) => e[0] as number);
        const good = await cliDb.pool.query(`SELECT payload::text AS p FROM plan_artifacts WHERE plan_id = 'plan-00001' AND version = 1`);
        await fix(cliDb, ids, good.rows[0].p);

        const retry = await cli('backfill', '--env', 'replay', '--retry-errors', firstRun.runId, '--json');
        expect(retry.code).toBe(0);
        expect(lastLine(retry.stdout)).toEqual(
          expect.objectContaining({ status: 'completed', retryOf: firstRun.runId, versionsWritten: CLI_DEMO.bad, errorsCount: 0 }),
        );
        const status = await cli('status', 'plandb-replay-backfill');
        expect(status.stdout).toMatch(`(normal, retry of the errors of run ${firstRun.runId}): completed, 100%`);

        const again = await cli('backfill', '--env', 'replay', '--retry-errors', firstRun.runId, '--json');
        expect(again.code).toBe(1);
        expect(again.stderr).toMatch(`all ${CLI_DEMO.bad} errors of run ${firstRun.runId} are already resolved`);
      });
    });
  });
});
