/**
 * The worker's `/metrics` (SPEC §9): a worker started by startWorker runs a backfill through Temporal,
 * then every series the backfill touched must be there with the labels of §9 and values that match the
 * database. Also the real `plandb worker` in a process of its own: both endpoints, its own and the SDK's.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { refreshRepositoryRows } from '../../activities/capacity';
import { createMigrationActivities } from '../../activities/migration';
import { createRun, getRun } from '../../db/backfill-runs';
import { setMaintenanceFlag } from '../../db/maintenance';
import { appendEvidenceRows, claimMigrationRun, updateMigrationRun } from '../../db/migration-runs';
import { DatabaseRegistry } from '../../db/registry';
import { REPOSITORY_TABLES } from '../../db/repository-stats';
import { createMetrics, type PlandbMetrics } from '../../metrics/registry';
import { projectRoot } from '../../platform/project-root';
import { REJECT_REASONS } from '../../transform/types';
import { startWorker } from '../../worker/run-worker';
import type { BackfillResult } from '../../workflows/definitions';
import { activityDeps, backfilledDatabase } from '../support/activities';
import { seededDatabase, uniqueWorkflowId, waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { Exposition, parseExposition, samplesOf, valueOf } from '../support/prometheus-text';
import { createTemporalHarness, type TemporalHarness } from '../support/temporal';

const DEMO = { plans: 6, versions: 4, series: 8, bad: 10, seed: 8 };
const TOTAL = DEMO.plans * DEMO.versions + DEMO.bad;
const BATCH_SIZE = 7;
const MAX_ROWS = 100_000;
const URL_VAR = 'PLANDB_T_METRICS_URL';

/** Every series SPEC §9 names, with its type and labels. */
const SPEC_METRICS: Record<string, { type: string; labels: string[] }> = {
  plan_db_write_total: { type: 'counter', labels: ['environment', 'table'] },
  plan_db_write_latency_seconds: { type: 'histogram', labels: ['environment', 'operation'] },
  plan_db_write_error_total: { type: 'counter', labels: ['environment', 'reason'] },
  plan_backfill_artifacts_total: { type: 'counter', labels: ['environment', 'outcome'] },
  plan_backfill_runs_total: { type: 'counter', labels: ['environment', 'status'] },
  plan_backfill_last_success_timestamp_seconds: { type: 'gauge', labels: ['environment'] },
  plan_db_capacity_trim_total: { type: 'counter', labels: ['environment'] },
  plan_db_last_trim_timestamp: { type: 'gauge', labels: ['environment'] },
  plan_repository_rows: { type: 'gauge', labels: ['environment', 'table'] },
  plan_migration_step_duration_seconds: { type: 'histogram', labels: ['environment', 'step'] },
  plan_db_maintenance_enabled: { type: 'gauge', labels: ['environment'] },
  plan_migration_running: { type: 'gauge', labels: ['environment'] },
  plan_backfill_batch_size: { type: 'gauge', labels: ['environment'] },
};

async function scrape(url: string): Promise<{ contentType: string | null; exposition: Exposition }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return { contentType: res.headers.get('content-type'), exposition: parseExposition(await res.text()) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('worker /metrics', () => {
  let db: TestDatabase;
  const savedBundle = process.env.PLANDB_WORKFLOW_BUNDLE;

  beforeAll(async () => {
    db = await seededDatabase(DEMO);
    // The bundle built from the sources under test, not whatever dist/ holds.
    process.env.PLANDB_WORKFLOW_BUNDLE = process.env.PLANDB_TEST_WORKFLOW_BUNDLE;
  });
  afterAll(async () => {
    if (savedBundle === undefined) delete process.env.PLANDB_WORKFLOW_BUNDLE;
    else process.env.PLANDB_WORKFLOW_BUNDLE = savedBundle;
    await db?.drop();
  });

  test('after a backfill through Temporal, every §9 series matches the database (plan_repository_rows counted by the backfill itself)', async () => {
    const fileConfig = testConfig({ dev: { databaseUrlEnv: URL_VAR, capacity: { maxRows: MAX_ROWS } } });
    const config = { ...fileConfig, temporal: { ...fileConfig.temporal, taskQueue: uniqueWorkflowId('plandb-metrics') } };
    const env = { [URL_VAR]: db.url, PLANDB_METRICS_PORT: '0' };
    const logLines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(chunk.toString());
        callback();
      },
    });
    const logger = pino({ level: 'info' }, logStream);
    const running = await startWorker(config, { env, logger });
    const connection = await Connection.connect({ address: config.temporal.address });
    const databases = new DatabaseRegistry(config, env);
    try {
      expect(running.metricsAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      const url = `http://${running.metricsAddress}/metrics`;
      expect(logLines.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({ event: 'worker_started', metrics: url }));

      const client = new Client({ connection, namespace: config.temporal.namespace });
      const startedAt = Date.now() / 1000;
      const handle = await client.workflow.start('backfillRepository', {
        workflowId: uniqueWorkflowId('bf-metrics'),
        taskQueue: config.temporal.taskQueue,
        args: [{ environment: 'dev', batchSize: BATCH_SIZE }],
      });
      const result = (await handle.result()) as BackfillResult;
      expect(result.status).toBe('completed');
      const run = (await getRun(db.pool, result.runId!))!;
      expect(run.artifactsRead).toBe(TOTAL);

      const { contentType, exposition: e } = await scrape(url);
      expect(contentType).toBe(running.metrics.registry.contentType);

      for (const [name, spec] of Object.entries(SPEC_METRICS)) {
        expect([name, e.types[name]]).toEqual([name, spec.type]);
        const suffixed = spec.type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
        for (const sample of e.samples.filter((s) => suffixed.includes(s.name))) {
          const labels = Object.keys(sample.labels).filter((l) => l !== 'le');
          expect([sample.name, labels.sort()]).toEqual([sample.name, [...spec.labels].sort()]);
        }
      }

      const counts = (
        await db.pool.query<Record<string, number>>(
          `SELECT ${REPOSITORY_TABLES.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`,
        )
      ).rows[0];
      for (const table of REPOSITORY_TABLES) {
        expect([table, valueOf(e, 'plan_db_write_total', { environment: 'dev', table })]).toEqual([table, counts[table]]);
        expect([table, valueOf(e, 'plan_repository_rows', { environment: 'dev', table })]).toEqual([table, counts[table]]);
      }

      expect(valueOf(e, 'plan_backfill_artifacts_total', { environment: 'dev', outcome: 'written' })).toBe(run.versionsWritten);
      expect(valueOf(e, 'plan_backfill_artifacts_total', { environment: 'dev', outcome: 'rejected' })).toBe(run.versionsRejected);
      expect(run.versionsRejected).toBe(DEMO.bad);
      // The other outcomes exist from start-up at 0 (primed); nothing counts as a dry run.
      expect(
        samplesOf(e, 'plan_backfill_artifacts_total')
          .filter((s) => !['rejected', 'written'].includes(s.labels.outcome))
          .map((s) => [s.labels.outcome, s.value])
          .sort(),
      ).toEqual(['conflict', 'dry_run_conflict', 'dry_run_rejected', 'dry_run_skipped', 'dry_run_written', 'skipped'].map((o) => [o, 0]));
      // Read from the database at scrape time: maintenance never switched, no migration or backfill running.
      expect(valueOf(e, 'plan_db_maintenance_enabled', { environment: 'dev' })).toBe(0);
      expect(samplesOf(e, 'plan_db_maintenance_since_timestamp')).toEqual([]);
      expect(valueOf(e, 'plan_migration_running', { environment: 'dev' })).toBe(0);
      expect(samplesOf(e, 'plan_backfill_running_cursor')).toEqual([]);
      expect(samplesOf(e, 'plan_migration_waiting_since_timestamp')).toEqual([]);
      // One series per configured environment, from start-up on.
      expect(samplesOf(e, 'plan_backfill_batch_size').map((s) => s.labels)).toEqual([{ environment: 'dev' }]);

      const byReason = await db.pool.query<{ reason: string; n: number }>(
        `SELECT reason, count(*)::int AS n FROM plan_backfill_errors WHERE run_id = $1 GROUP BY reason`,
        [run.runId],
      );
      const errorsByReason = Object.fromEntries(byReason.rows.map((r) => [r.reason, r.n]));
      // Every reason is exported, at 0 when it did not happen (the alert rules need the series to exist).
      for (const reason of [...REJECT_REASONS, 'conflict', 'db_rejected', 'db_error']) {
        expect([reason, valueOf(e, 'plan_db_write_error_total', { environment: 'dev', reason })]).toEqual([
          reason,
          errorsByReason[reason] ?? 0,
        ]);
      }
      expect(samplesOf(e, 'plan_db_write_error_total').reduce((sum, s) => sum + s.value, 0)).toBe(run.errorsCount);

      expect(valueOf(e, 'plan_backfill_runs_total', { environment: 'dev', status: 'completed' })).toBe(1);
      expect(valueOf(e, 'plan_backfill_runs_total', { environment: 'dev', status: 'failed' })).toBe(0);
      expect(valueOf(e, 'plan_backfill_runs_total', { environment: 'dev', status: 'cancelled' })).toBe(0);
      const lastSuccess = valueOf(e, 'plan_backfill_last_success_timestamp_seconds', { environment: 'dev' });
      expect(lastSuccess).toBeGreaterThanOrEqual(startedAt);
      expect(lastSuccess).toBeLessThanOrEqual(Date.now() / 1000);

      const latency = { environment: 'dev', operation: 'backfill_batch' };
      const batches = valueOf(e, 'plan_db_write_latency_seconds_count', latency);
      expect(batches).toBeGreaterThanOrEqual(Math.ceil(TOTAL / BATCH_SIZE));
      expect(valueOf(e, 'plan_db_write_latency_seconds_bucket', { ...latency, le: '+Inf' })).toBe(batches);
      expect(valueOf(e, 'plan_db_write_latency_seconds_sum', latency)).toBeGreaterThan(0);

      // Nothing trimmed yet: the series exist at 0 for the alert rules; the configured limit is exported.
      expect(valueOf(e, 'plan_db_capacity_trim_total', { environment: 'dev' })).toBe(0);
      expect(valueOf(e, 'plan_db_capacity_trim_alerts_total', { environment: 'dev' })).toBe(0);
      expect(valueOf(e, 'plan_db_capacity_max_rows', { environment: 'dev' })).toBe(MAX_ROWS);

      for (const name of [
        'process_cpu_user_seconds_total',
        'process_resident_memory_bytes',
        'nodejs_eventloop_lag_seconds',
        'nodejs_heap_size_used_bytes',
      ]) {
        expect([name, samplesOf(e, name).length]).toEqual([name, 1]);
      }

      const health = await fetch(`http://${running.metricsAddress}/healthz`);
      expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
      expect((await fetch(`http://${running.metricsAddress}/other`)).status).toBe(404);
      expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    } finally {
      await databases.close();
      await connection.close();
      await running.shutdown();
    }
    // Stopped with the worker.
    await expect(fetch(`http://${running.metricsAddress}/healthz`)).rejects.toThrow();
  });

  test('`plandb worker` serves /metrics and the Temporal SDK metrics on the addresses it logs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-metrics-'));
    const configPath = path.join(dir, 'plandb.config.json');
    fs.writeFileSync(
      configPath,
      JSON.stringify({
        temporal: { address: process.env.PLANDB_TEST_TEMPORAL_ADDRESS, taskQueue: uniqueWorkflowId('plandb-metrics-cli') },
        environments: { dev: { databaseUrlEnv: URL_VAR } },
      }),
    );
    const sdkAddress = `127.0.0.1:${await freePort()}`;
    // The CLI from source (tsx), so the test needs no build.
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `require(${JSON.stringify(path.join(projectRoot(), 'cli', 'main.ts'))}).main(['node', 'plandb', 'worker']).then((c) => { process.exitCode = c; })`,
      ],
      {
        cwd: projectRoot(),
        env: {
          ...process.env,
          PLANDB_CONFIG: configPath,
          [URL_VAR]: db.url,
          PLANDB_LOG_LEVEL: 'info',
          PLANDB_METRICS_PORT: '0',
          PLANDB_TEMPORAL_METRICS_ADDRESS: sdkAddress,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const started = await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`plandb worker exited ${child.exitCode}: ${stderr}${stdout}`);
          // The JSON logs go to stderr.
          const line = stderr.split('\n').find((l) => l.includes('"worker_started"'));
          return line ? (JSON.parse(line) as { metrics: string; temporalMetrics: string }) : null;
        },
        60_000,
        'plandb worker to start',
      );
      expect(started.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(started.temporalMetrics).toBe(`http://${sdkAddress}/metrics`);

      const own = (await scrape(started.metrics)).exposition;
      expect(own.types.plan_db_write_total).toBe('counter');
      expect(valueOf(own, 'plan_backfill_runs_total', { environment: 'dev', status: 'failed' })).toBe(0);
      expect(samplesOf(own, 'process_cpu_user_seconds_total')).toHaveLength(1);

      // The SDK's series (temporal_*) appear once the worker has polled.
      const sdk = await waitFor(
        async () => {
          const { exposition } = await scrape(started.temporalMetrics);
          return exposition.samples.some((s) => s.name.startsWith('temporal_')) ? exposition : null;
        },
        30_000,
        'Temporal SDK metrics',
      );
      expect(sdk.samples.some((s) => s.labels.task_queue !== undefined)).toBe(true);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      fs.rmSync(dir, { recursive: true, force: true });
      const errors = stderr.split('\n').filter((l) => l.startsWith('{') && (JSON.parse(l) as { level: number }).level >= 50);
      expect([code, stdout, errors]).toEqual([0, '', []]);
    }
  });
});

describe('metrics read from the databases at scrape time', () => {
  const T = '2026-01-02T03:04:05.000Z';
  let live: TestDatabase;
  let bare: TestDatabase;
  let databases: DatabaseRegistry;
  let metrics: PlandbMetrics;
  // Accepts connections and never answers: a database that hangs.
  let hung: net.Server;
  const hungSockets: net.Socket[] = [];

  beforeAll(async () => {
    live = await seededDatabase(DEMO);
    bare = await createTestDatabase();
    hung = net.createServer((socket) => void hungSockets.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const env = {
      LIVE_URL: live.url,
      BARE_URL: bare.url,
      GONE_URL: `postgres://plandb@127.0.0.1:${await freePort()}/none`,
      HUNG_URL: `postgres://plandb@127.0.0.1:${(hung.address() as net.AddressInfo).port}/none`,
    };
    const config = testConfig({
      live: { databaseUrlEnv: 'LIVE_URL' },
      bare: { databaseUrlEnv: 'BARE_URL' },
      gone: { databaseUrlEnv: 'GONE_URL' },
      hung: { databaseUrlEnv: 'HUNG_URL' },
    });
    databases = new DatabaseRegistry(config, env);
    metrics = createMetrics(undefined, { config, databases, timeoutMs: 1_000 });
  });
  afterAll(async () => {
    for (const socket of hungSockets) socket.destroy();
    hung?.close();
    await databases?.close();
    await live?.drop();
    await bare?.drop();
  });

  const scrapeLive = async () => parseExposition(await metrics.registry.metrics());

  test('maintenance, running migrations, open gates and the running backfill come from the database; unreachable, hung and unmigrated environments report nothing', async () => {
    const wf = uniqueWorkflowId('mig');
    const { state } = await setMaintenanceFlag(live.pool, { enabled: true, reason: 'migration', actor: 'test', ownerWorkflowId: wf });
    await claimMigrationRun(live.pool, { workflowId: wf, environment: 'live', startedAt: T, policy: null });
    await appendEvidenceRows(live.pool, wf, [
      { seq: 1, kind: 'step', name: 'spot-check', status: 'running', attempt: 1, summary: { gate: 'spot-check' }, at: T },
    ]);
    await updateMigrationRun(live.pool, wf, { status: 'waiting-approval', currentStep: 'spot-check', refusedSignals: 0 });
    await createRun(live.pool, {
      runId: uniqueWorkflowId('run'),
      environment: 'live',
      workflowId: null,
      mode: 'normal',
      options: {},
      cursor: 17,
      upToId: 100,
      artifactsTotal: 34,
      limit: null,
    });

    let e = await scrapeLive();
    const only = (name: string) => samplesOf(e, name).map((s) => [s.labels, s.value]);
    expect(only('plan_db_maintenance_enabled')).toEqual([[{ environment: 'live' }, 1]]);
    expect(only('plan_db_maintenance_since_timestamp')).toEqual([[{ environment: 'live' }, Date.parse(state.since!) / 1000]]);
    expect(only('plan_migration_running')).toEqual([[{ environment: 'live' }, 1]]);
    expect(only('plan_migration_waiting_since_timestamp')).toEqual([[{ environment: 'live', gate: 'spot-check' }, Date.parse(T) / 1000]]);
    expect(only('plan_backfill_running_cursor')).toEqual([[{ environment: 'live' }, 17]]);

    // The gate closes, the migration and the backfill end, maintenance is lifted.
    await appendEvidenceRows(live.pool, wf, [
      { seq: 2, kind: 'step', name: 'spot-check', status: 'completed', attempt: 1, summary: { gate: 'spot-check' }, at: T },
    ]);
    await updateMigrationRun(live.pool, wf, { status: 'running', currentStep: 'spot-check', refusedSignals: 0 });
    e = await scrapeLive();
    expect(only('plan_migration_waiting_since_timestamp')).toEqual([]);
    await updateMigrationRun(live.pool, wf, {
      status: 'completed',
      currentStep: null,
      refusedSignals: 0,
      finished: { at: T, reason: 'completed' },
    });
    await live.pool.query(`UPDATE plan_backfill_runs SET status = 'completed', finished_at = now()`);
    await setMaintenanceFlag(live.pool, { enabled: false, reason: 'done', actor: 'test' });
    e = await scrapeLive();
    expect(only('plan_db_maintenance_enabled')).toEqual([[{ environment: 'live' }, 0]]);
    expect(only('plan_migration_running')).toEqual([[{ environment: 'live' }, 0]]);
    expect(only('plan_backfill_running_cursor')).toEqual([]);
  });
});

describe('a dry run through Temporal', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;
  beforeAll(async () => {
    db = await seededDatabase(DEMO);
    harness = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: URL_VAR } }), { [URL_VAR]: db.url });
  });
  afterAll(async () => {
    await harness?.close();
    await db?.drop();
  });

  test('counts its outcomes as dry_run_*, never as write errors or writes', async () => {
    const result = (await harness.run(() =>
      harness.client.workflow.execute('backfillRepository', {
        workflowId: uniqueWorkflowId('bf-dry'),
        taskQueue: harness.taskQueue,
        args: [{ environment: 'dev', dryRun: true, batchSize: BATCH_SIZE }],
      }),
    )) as BackfillResult;
    expect(result.status).toBe('completed');
    const e = parseExposition(await harness.metrics.registry.metrics());
    expect(valueOf(e, 'plan_backfill_artifacts_total', { environment: 'dev', outcome: 'dry_run_rejected' })).toBe(DEMO.bad);
    expect(valueOf(e, 'plan_backfill_artifacts_total', { environment: 'dev', outcome: 'dry_run_written' })).toBe(
      DEMO.plans * DEMO.versions,
    );
    expect(valueOf(e, 'plan_backfill_artifacts_total', { environment: 'dev', outcome: 'rejected' })).toBe(0);
    expect(samplesOf(e, 'plan_db_write_error_total').map((s) => s.value)).toEqual(samplesOf(e, 'plan_db_write_error_total').map(() => 0));
    expect(samplesOf(e, 'plan_db_write_total').every((s) => s.value === 0)).toBe(true);
    expect(valueOf(e, 'plan_db_write_latency_seconds_count', { environment: 'dev', operation: 'backfill_batch' })).toBe(0);
  });
});

describe('plan_repository_rows after a rollback', () => {
  let db: TestDatabase;
  afterAll(() => db?.drop());

  test('clearing the repository counts it again: every table at 0', async () => {
    db = await backfilledDatabase(DEMO);
    const deps = activityDeps(testConfig({ dev: { databaseUrlEnv: URL_VAR } }), { [URL_VAR]: db.url });
    try {
      await refreshRepositoryRows(deps, 'dev');
      const rows = async () => (await deps.metrics.repositoryRows.get()).values.map((v) => [v.labels.table, v.value]);
      expect((await rows()).find(([table]) => table === 'plan_series')?.[1]).toBe(DEMO.plans * DEMO.versions * DEMO.series);
      await createMigrationActivities(deps).clearRepository({ environment: 'dev' });
      expect(await rows()).toEqual(REPOSITORY_TABLES.map((table) => [table, 0]));
    } finally {
      await deps.databases.close();
    }
  });
});
