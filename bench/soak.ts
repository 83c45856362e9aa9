/**
 * `npm run soak` (not part of `npm test`): a bounded chaos run. A production-like environmentMigration
 * (approval gate, maintenance on, backup, backfill, verify, spot-check, maintenance off) runs on the
 * real worker in a child process while, at random, the worker is SIGKILLed and restarted, the
 * Temporal dev server is restarted (its state kept in a file) and the worker's database connections
 * are terminated. It must end with verify passing, the repository identical to an undisturbed run,
 * maintenance off and no run left open. Prints one JSON line of figures on stdout; progress on stderr.
 *
 * Options: --artifacts-per-plan N (versions) --plans N --series N --batch-size N --faults N --seed N
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import pino from 'pino';
import { loadConfig } from '../config/load';
import { temporalConnectOptions } from '../config/temporal-connection';
import { createPool, withClient } from '../db/connection';
import { getMaintenance } from '../db/maintenance';
import { getMigrationRun } from '../db/migration-runs';
import { upgrade } from '../db/migrator';
import { DatabaseRegistry } from '../db/registry';
import { repositoryDigest } from '../db/repository-digest';
import { seedDemo } from '../db/seed';
import { createMetrics } from '../metrics/registry';
import { workflowIdFor } from '../model/ids';
import type { MigrationEvidence } from '../model/migration';
import { freePort, startEmbeddedPostgres } from '../runtime/embedded-postgres';
import { startTemporalDevServer, type RunningDevServer } from '../runtime/temporal-dev-server';
import { createWorker } from '../worker/create-worker';
import { temporalLiveness } from '../worker/liveness';
import { installTemporalRuntime } from '../worker/temporal-runtime';
import { NativeConnection } from '@temporalio/worker';
import { approveUpdate, statusQuery } from '../workflows/definitions';
import { devServerEnv } from './bench-config';
import { Cleanup } from './cleanup';
import { progress } from './log';
import { WorkerProcess } from './worker-process';
import { tuningAround } from './bench-config';

const ENV = 'soak';
const TASK_QUEUE = 'plandb-soak';
const FAULT_KINDS = ['kill-worker', 'restart-temporal', 'terminate-connections'] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

interface SoakOptions {
  plans: number;
  versions: number;
  series: number;
  batchSize: number;
  faults: number;
  seed: number;
}

function parseOptions(argv: string[]): SoakOptions {
  const opts: SoakOptions = { plans: 2000, versions: 10, series: 40, batchSize: 200, faults: 10, seed: 7 };
  const names: Record<string, keyof SoakOptions> = {
    '--plans': 'plans',
    '--versions': 'versions',
    '--series': 'series',
    '--batch-size': 'batchSize',
    '--faults': 'faults',
    '--seed': 'seed',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    const value = Number(argv[i + 1]);
    if (!key || !Number.isSafeInteger(value) || value < 1) {
      process.stderr.write(`usage: npm run soak -- [${Object.keys(names).join(' N] [')} N]\n`);
      process.exit(2);
    }
    opts[key] = value;
  }
  return opts;
}

/** A deterministic random source (mulberry32), so a soak can be repeated with --seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` through Temporal outages (a restart takes a few seconds) until `timeoutMs`. */
async function patiently<T>(what: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw new Error(`${what}: ${(err as Error).message}`);
      await sleep(500);
    }
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const rand = random(opts.seed);
  const cleanup = new Cleanup();
  cleanup.onSignals();
  installTemporalRuntime(pino({ level: 'error' }), 'ERROR');
  const started = Date.now();
  try {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-soak-'));
    fs.chmodSync(scratch, 0o755);
    cleanup.add('remove scratch directory', () => fs.rmSync(scratch, { recursive: true, force: true }));
    const server = await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg', 'data') });
    cleanup.add('stop PostgreSQL', () => server.stop());
    const demo = { plans: opts.plans, versions: opts.versions, series: opts.series, bad: 25, seed: opts.seed };
    for (const name of ['soak', 'reference']) {
      await server.createDatabase(name);
      const pool = createPool(server.urlFor(name));
      await seedDemo(pool, demo);
      await pool.end();
    }

    // Temporal keeps its state in a file and listens on a fixed port, so a restart continues the run.
    const temporalPort = await freePort();
    const dbFilename = path.join(scratch, 'temporal.db');
    let temporal: RunningDevServer = await startTemporalDevServer({ port: temporalPort, dbFilename });
    cleanup.add('stop Temporal', () => temporal.stop());
    const address = temporal.address;

    const configPath = path.join(scratch, 'plandb.config.json');
    const environments = {
      [ENV]: {
        databaseUrlEnv: 'PLANDB_SOAK_URL',
        backup: { dir: path.join(scratch, 'backups') },
        maintenance: { mode: 'db-flag' },
        approval: { required: true, approvers: ['soak'], timeout: '1h' },
        backfill: { batchSize: opts.batchSize, resume: true, tuning: tuningAround(opts.batchSize) },
        spotCheck: { required: true },
      },
      reference: {
        databaseUrlEnv: 'PLANDB_SOAK_REFERENCE_URL',
        backfill: { batchSize: opts.batchSize, tuning: tuningAround(opts.batchSize) },
      },
    };
    fs.writeFileSync(configPath, JSON.stringify({ temporal: { address, taskQueue: TASK_QUEUE }, environments }));
    const env = {
      ...devServerEnv(address, 'default', scratch),
      PLANDB_CONFIG: configPath,
      PLANDB_SOAK_URL: server.urlFor('soak'),
      PLANDB_SOAK_REFERENCE_URL: server.urlFor('reference'),
      PLANDB_LOG_LEVEL: 'error',
      PLANDB_METRICS_PORT: '0',
      PLANDB_TEMPORAL_METRICS_ADDRESS: '',
    };
    const config = loadConfig({ path: configPath, env });
    const connection = await Connection.connect(temporalConnectOptions(config.temporal));
    cleanup.add('close Temporal client', () => connection.close());
    const client = new Client({ connection });

    // The undisturbed run: the same data backfilled once by an in-process worker.
    progress('reference: an undisturbed backfill of the same data');
    const refPool = createPool(server.urlFor('reference'));
    cleanup.add('close reference pool', () => refPool.end());
    await withClient(refPool, (c) => upgrade(c));
    const databases = new DatabaseRegistry(config, env);
    const native = await NativeConnection.connect(temporalConnectOptions(config.temporal));
    const refWorker = await createWorker({
      connection: native,
      namespace: 'default',
      taskQueue: 'plandb-soak-reference',
      workflowBundlePath: undefined,
      deps: {
        config,
        databases,
        metrics: createMetrics(),
        logger: pino({ level: 'error' }),
        env,
        workflowLiveness: temporalLiveness(client.workflow),
      },
    });
    await refWorker.runUntil(
      client.workflow.execute('backfillRepository', {
        workflowId: workflowIdFor('reference', 'backfill'),
        taskQueue: 'plandb-soak-reference',
        args: [{ environment: 'reference', batchSize: opts.batchSize }],
      }),
    );
    await databases.close();
    await native.close();
    const referenceDigest = await repositoryDigest(refPool);

    // The migration under chaos.
    let worker = await WorkerProcess.start({ env, cpuProfDir: null, heapMb: null }, cleanup);
    const handle: WorkflowHandle = await client.workflow.start('environmentMigration', {
      workflowId: workflowIdFor(ENV, 'migration'),
      taskQueue: TASK_QUEUE,
      args: [{ environment: ENV }],
    });
    progress(`started ${handle.workflowId}`);
    const soakPool = createPool(server.urlFor('soak'));
    cleanup.add('close soak pool', () => soakPool.end());

    const faults: Record<FaultKind, number> = { 'kill-worker': 0, 'restart-temporal': 0, 'terminate-connections': 0 };
    /** The backfill run as the database sees it (no table before the migration's schema step). */
    const backfillNow = async () =>
      (
        await soakPool
          .query<{ status: string; artifacts_read: number }>(
            `SELECT status, artifacts_read FROM plan_backfill_runs WHERE mode <> 'dry-run' ORDER BY started_at DESC LIMIT 1`,
          )
          .catch(() => ({ rows: [] }))
      ).rows[0] ?? null;
    const timeline: { fault: FaultKind; atSeconds: number; backfill: string }[] = [];
    const inject = async (kind: FaultKind) => {
      faults[kind]++;
      const run = await backfillNow();
      timeline.push({
        fault: kind,
        atSeconds: Math.round((Date.now() - started) / 100) / 10,
        backfill: run ? `${run.status} at ${run.artifacts_read}` : 'not started',
      });
      progress(`fault ${timeline.length}: ${kind} (backfill ${timeline.at(-1)!.backfill})`);
      if (kind === 'kill-worker') {
        process.kill(worker.pid, 'SIGKILL');
        await worker.kill();
        await sleep(500 + rand() * 1500);
        worker = await WorkerProcess.start({ env, cpuProfDir: null, heapMb: null }, cleanup);
      } else if (kind === 'restart-temporal') {
        await temporal.stop();
        await sleep(1000 + rand() * 3000);
        temporal = await patiently('restart Temporal', () => startTemporalDevServer({ port: temporalPort, dbFilename }), 60_000);
      } else {
        await soakPool.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = 'soak' AND application_name LIKE 'plandb%' AND pid <> pg_backend_pid()`,
        );
      }
    };

    // The approver: opens each gate when it opens (through outages too).
    const approve = async (gate: string) => {
      await patiently(
        `wait for gate ${gate}`,
        async () => {
          const s: MigrationEvidence = await handle.query(statusQuery);
          if (s.openGate !== gate) throw new Error(`gate ${gate} not open yet (${s.status} at ${s.currentStep})`);
        },
        900_000,
      );
      await patiently(`approve ${gate}`, () =>
        handle.executeUpdate(approveUpdate, { args: [{ gate, approver: 'soak', comment: 'soak' }] }),
      );
      progress(`approved ${gate}`);
    };
    await approve('start');
    // Faults while the backfill runs, until it is done or the budget is spent (the steps before it
    // have their own retries; a killed worker there costs a heartbeat timeout, not data).
    await patiently(
      'the backfill to start',
      async () => {
        if ((await backfillNow())?.status !== 'running') throw new Error('backfill not running yet');
      },
      600_000,
    );
    for (let n = 0; n < opts.faults; n++) {
      await sleep(1500 + rand() * 2500);
      if ((await backfillNow())?.status === 'completed') break;
      await inject(FAULT_KINDS[Math.floor(rand() * FAULT_KINDS.length)]);
    }
    await approve('spot-check');
    await patiently('the migration result', () => handle.result(), 300_000);

    // What must hold.
    const evidence = (await getMigrationRun(soakPool, handle.workflowId))!;
    const verify = evidence.steps.filter((s) => s.name === 'verify').at(-1);
    const digest = await repositoryDigest(soakPool);
    const maintenance = await getMaintenance(soakPool);
    const openRuns = (
      await soakPool.query<{ n: number }>(`SELECT count(*)::int AS n FROM plan_backfill_runs WHERE status IN ('running', 'paused')`)
    ).rows[0].n;
    const lostChunks = await lostChunkAttempts(client, workflowIdFor(ENV, 'backfill'));
    const checks = {
      migrationCompleted: evidence.status === 'completed',
      verifyPassed: (verify?.output as { passed?: boolean } | undefined)?.passed === true,
      repositoryIdentical: JSON.stringify(digest) === JSON.stringify(referenceDigest),
      maintenanceOff: !maintenance.enabled,
      noRunLeftOpen: openRuns === 0,
    };
    const totalFaults = Object.values(faults).reduce((a, b) => a + b, 0);
    const report = {
      data: { ...demo, batchSize: opts.batchSize, artifacts: opts.plans * opts.versions + demo.bad, seriesRows: digest.plan_series },
      faults: { ...faults, total: totalFaults, duringBackfill: timeline.filter((t) => t.backfill.startsWith('running')).length },
      timeline,
      // Each lost chunk attempt (worker killed, connection dropped) loses at most its batch in flight.
      chunkAttemptsLost: lostChunks,
      batchesRedoneAtMost: lostChunks,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      checks,
      passed: Object.values(checks).every(Boolean),
    };
    await worker.stop();
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exitCode = report.passed ? 0 : 1;
  } finally {
    await cleanup.runAll();
  }
}

/**
 * Activity attempts that did not complete, over every run of the backfill workflow (continue-as-new
 * included): history records one started event per activity, carrying its final attempt number.
 */
async function lostChunkAttempts(client: Client, workflowId: string): Promise<number> {
  let lost = 0;
  for await (const info of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    const history = await client.workflow.getHandle(workflowId, info.runId).fetchHistory();
    for (const e of history.events ?? []) lost += Math.max(0, (e.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
  }
  return lost;
}

main().catch((err: Error) => {
  process.stderr.write(`soak failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
