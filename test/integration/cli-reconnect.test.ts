/**
 * `plandb backfill` (the compiled CLI, as a child process) following a run through a Temporal outage:
 * a dedicated dev server, its state in a SQLite file, is stopped mid-run and started again on the
 * same port; the worker and the CLI have to find it again.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../runtime/embedded-postgres';
import { projectRoot } from '../../platform/project-root';
import { RunningDevServer, startTemporalDevServer } from '../../runtime/temporal-dev-server';
import { latestRun, seededDatabase, waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const URL_VAR = 'PLANDB_CLI_RC_URL';
// 2000 artifacts take the worker seconds: the run is still going when the server stops.
const DEMO = { plans: 400, versions: 5, series: 4, bad: 0, seed: 11 };
const TOTAL = DEMO.plans * DEMO.versions;
const OUTAGE_MS = 10_000;

/** The CLI as an operator runs it, with what it printed so far and its exit code once it ends. */
function spawnCli(args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(process.execPath, [path.join(projectRoot(), 'bin', 'plandb.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

function readState(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

describe('plandb backfill through a Temporal outage', () => {
  let db: TestDatabase;
  let server: RunningDevServer | undefined;
  let harness: TemporalHarness;
  let dir: string;
  let port: number;
  let configPath: string;
  const startServer = () => startTemporalDevServer({ port, dbFilename: path.join(dir, 'temporal.sqlite') });

  beforeAll(async () => {
    db = await seededDatabase(DEMO);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-cli-rc-'));
    port = await freePort();
    server = await startServer();
    const environments = { outage: { databaseUrlEnv: URL_VAR } };
    harness = await createTemporalHarness(testConfig(environments), { [URL_VAR]: db.url }, undefined, server.address);
    configPath = path.join(dir, 'plandb.config.json');
    fs.writeFileSync(configPath, JSON.stringify({ temporal: { address: server.address, taskQueue: harness.taskQueue }, environments }));
  });

  afterAll(async () => {
    await harness?.close();
    await server?.stop();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the CLI reports the outage, marks the state file unknown, reconnects and exits 0 when the run completes', async () => {
    const stateFile = path.join(dir, 'state.json');
    const cli = spawnCli(['--config', configPath, 'backfill', '--env', 'outage', '--batch-size', '2', '--state-file', stateFile], {
      ...process.env,
      [URL_VAR]: db.url,
    });
    try {
      await harness.run(async () => {
        // The CLI has seen the run start, and its first batches are committed.
        const seen = await waitFor(async () => {
          const s = readState(stateFile);
          return s?.status === 'running' && s;
        }, 60_000, 'the run to start');
        await waitFor(async () => Number((await latestRun(db))?.cursor) > 0, 60_000, 'the first batches');
        await server!.stop();
        server = undefined;
        const stoppedAt = Date.now();

        const unknown = await waitFor(async () => {
          const s = readState(stateFile);
          return s?.status === 'unknown' && s;
        }, OUTAGE_MS, 'the state file to say unknown');
        expect(cli.out.stderr).toMatch(new RegExp(`plandb: lost Temporal at 127\\.0\\.0\\.1:${port} \\(.+\\) at \\S+Z, retrying for up to 5m`));
        // The run and the last cursor seen stay.
        expect(unknown).toMatchObject({ workflowId: 'plandb-outage-backfill', runId: seen.runId, environment: 'outage', upToId: TOTAL });
        expect(Number(unknown.cursor)).toBeGreaterThanOrEqual(Number(seen.cursor));
        expect(Number(unknown.cursor)).toBeLessThan(TOTAL);

        await sleep(Math.max(0, stoppedAt + OUTAGE_MS - Date.now()));
        expect(cli.child.exitCode).toBeNull();
        server = await startServer();
        expect({ code: await cli.exited, stderr: cli.out.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      });
    } finally {
      cli.child.kill();
    }

    expect(cli.out.stderr).toMatch(/plandb: reconnected to Temporal at 127\.0\.0\.1:\d+ after \d+s/);
    expect(cli.out.stderr).not.toMatch(/failed|Failed to get Workflow execution history/);
    const lines = cli.out.stdout.split('\n').filter((line) => line.startsWith('{'));
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ status: 'completed', artifactsRead: TOTAL });

    const state = readState(stateFile);
    expect(state).toMatchObject({ status: 'completed', errors: [], counts: expect.objectContaining({ artifactsRead: TOTAL, versionsWritten: TOTAL }) });
    const row = await latestRun(db);
    expect(row).toMatchObject({ runId: state?.runId, status: 'completed' });
  });

  test('an outage longer than --reconnect-timeout exits 3 saying how to follow the run; the state file stays unknown', async () => {
    const stateFile = path.join(dir, 'lost.json');
    const env = { ...process.env, [URL_VAR]: db.url };
    const args = ['--config', configPath, 'backfill', '--env', 'outage', '--force', '--batch-size', '2', '--reconnect-timeout', '5s', '--state-file', stateFile];
    const cli = spawnCli(args, env);
    try {
      await harness.run(async () => {
        await waitFor(async () => readState(stateFile)?.status === 'running', 60_000, 'the run to start');
        await server!.stop();
        server = undefined;
        // With stderr, so a failure shows what the CLI said.
        // With stderr, so a failure shows what the CLI said.
        expect({ code: await cli.exited, stderr: cli.out.stderr }).toEqual({ code: 3, stderr: expect.any(String) });
        expect(cli.out.stderr).toMatch(/retrying for up to 5s/);
        expect(cli.out.stderr).toMatch(
          /plandb: lost contact with Temporal at 127\.0\.0\.1:\d+ for 5s; plandb-outage-backfill may still be running: follow it with `plandb status plandb-outage-backfill`/,
        );
        expect(readState(stateFile)).toMatchObject({ status: 'unknown', mode: 'force' });

        // It was: once the server is back, the run completes and status says so.
        server = await startServer();
        await harness.client.workflow.getHandle('plandb-outage-backfill').result();
        const status = spawnCli(['--config', configPath, 'status', 'plandb-outage-backfill', '--json'], env);
        expect(await status.exited).toBe(0);
        expect(JSON.parse(status.out.stdout)).toMatchObject({ workflow: { status: 'COMPLETED' }, progress: { status: 'completed', mode: 'force' } });
      });
    } finally {
      cli.child.kill();
    }
  });
});
