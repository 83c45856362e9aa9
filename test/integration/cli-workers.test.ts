import fs from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { withClient } from '../../db/connection';
import { upgrade } from '../../db/migrator';
import { seedDemo } from '../../db/seed';
import { DEFAULT_BATCH_SIZE } from '../../workflows/definitions';
import { runCli, writeCliConfig } from '../support/cli';
import { testConfig } from '../support/config';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const NO_WORKER =
  /no worker polls task queue (\S+) on (\S+)\/default: (\S+) will not make progress until one does\. Start one with `plandb worker`/;

describe('the CLI says when no worker polls its task queue; started workflows carry a summary', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;
  let dir: string;
  let configPath: string;
  const user = process.env.USER ?? os.userInfo().username;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedDemo(db.pool, { plans: 4, versions: 3, series: 4, bad: 0, seed: 11 });
    await withClient(db.pool, (c) => upgrade(c));
    process.env.PLANDB_CLI_WORKERS_URL = db.url;
    const environments = { lonely: { databaseUrlEnv: 'PLANDB_CLI_WORKERS_URL' } };
    // A fresh task queue: nobody polls it until harness.run starts a worker.
    harness = await createTemporalHarness(testConfig(environments), process.env);
    ({ dir, configPath } = writeCliConfig('plandb-cli-workers-', { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: harness.taskQueue }, environments));
  });

  afterAll(async () => {
    await harness?.close();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('--no-wait with no worker: the id on stdout, the warning on stderr', async () => {
    const run = await runCli(['--config', configPath, 'backfill', '--env', 'lonely', '--dry-run', '--no-wait']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ workflowId: 'plandb-lonely-backfill' });
    expect(run.stderr).toMatch(NO_WORKER);
    expect(run.stderr).not.toMatch(/still waiting/);
    const handle = harness.client.workflow.getHandle('plandb-lonely-backfill');
    expect(await (await handle.describe()).staticSummary()).toBe(`backfill lonely (dry-run) by ${user}`);
    // Ended without a worker, so the queue has never had a poller for the next test (Temporal remembers pollers for minutes).
    await handle.terminate('test: no-wait checked');
  });

  test('backfill with no worker: warned within 10 s, keeps waiting, completes once a worker starts', async () => {
    const started = Date.now();
    let warnedAt: number | null = null;
    const running = runCli(['--config', configPath, 'backfill', '--env', 'lonely', '--json'], (text) => {
      if (warnedAt === null && NO_WORKER.test(text)) warnedAt = Date.now();
    });
    const deadline = started + 10_000;
    while (warnedAt === null && Date.now() < deadline) await sleep(100);
    expect(warnedAt).not.toBeNull();
    expect(warnedAt! - started).toBeLessThan(10_000);

    // Still waiting, not failed: the workflow runs once a worker comes.
    const run = await harness.run(() => running);
    expect(run.code).toBe(0);
    const [, taskQueue, address, workflowId] = NO_WORKER.exec(run.stderr)!;
    expect(taskQueue).toBe(harness.taskQueue);
    expect(address).toBe(process.env.PLANDB_TEST_TEMPORAL_ADDRESS);
    expect(workflowId).toBe('plandb-lonely-backfill');
    expect(run.stderr.match(new RegExp(NO_WORKER.source, 'g'))).toHaveLength(1);
    expect(run.stdout.trim().split('\n').at(-1)).toMatch(/"status":"completed"/);

    const description = await harness.client.workflow.getHandle('plandb-lonely-backfill').describe();
    expect(await description.staticSummary()).toBe(`backfill lonely (normal) by ${user}`);
    const details = await description.staticDetails();
    expect(details).toMatch(/^Input:\n\n```json\n/);
    expect(JSON.parse(details!.replace(/^Input:\n\n```json\n|\n```$/g, ''))).toEqual({
      environment: 'lonely',
      batchSize: DEFAULT_BATCH_SIZE,
      maxErrors: 1000,
    });
  });

  test('with a worker polling, nothing is said', async () => {
    const run = await harness.run(async () => {
      // Lets the worker's first poll reach the server, as a long-running worker's has.
      await sleep(500);
      return runCli(['--config', configPath, 'preflight', '--env', 'lonely', '--json']);
    });
    expect(run.stderr).not.toMatch(/no worker polls/);
    const description = await harness.client.workflow.getHandle('plandb-lonely-preflight').describe();
    expect(await description.staticSummary()).toBe(`preflight lonely by ${user}`);
  });
});
