/**
 * The benchmark itself (started by bench/run.ts): SPEC §11 in one run. Generates the legacy table, measures the set-based SQL baselines,
 * the backfillRepository workflow through Temporal (workers in child processes) and a full checksum
 * verification, and hands the result to the launcher over IPC (or prints it when run directly). Exits 0
 * when everything ran, whether or not the bar was met; non-zero on errors (2 for bad flags). Stops
 * everything it started on exit, on SIGINT/SIGTERM, and when the launcher goes away.
 */
import os from 'node:os';
import pg from 'pg';
import { createPool } from '../db/connection';
import { verifyRepository } from '../db/verification';
import { verificationProblems } from '../transform/verification-report';
import { writeBenchConfig } from './bench-config';
import { runBaseline } from './baseline';
import { Cleanup } from './cleanup';
import { localPostmasterPid, startCpuMeter } from './cpu-usage';
import { generateLegacyTable } from './legacy-data';
import { progress } from './log';
import { parseOptions, UsageError, USAGE, BenchOptions } from './options';
import { buildReport, type BaselineMeasurement, type BaselineName, type BenchMessage, type LauncherMessage } from './report';
import { countRows, createRepositoryCopy, CopyShape, dropSchema, migrateToHead, REPOSITORY_TABLES, RepositoryTable } from './schema';
import { startDatabase, startTemporal } from './services';
import { runBackfillWorkflow } from './workflow-run';
import { probeCancelLatency } from './cancel-probe';

/** Flushes dirty pages between phases so one phase's writes are not paid for in the next one's time. */
async function checkpoint(pool: pg.Pool): Promise<void> {
  await pool.query('CHECKPOINT').catch((err: Error) => progress(`CHECKPOINT skipped: ${err.message}`));
}

/**
 * One SQL baseline: set-based SQL by `sessions` parallel sessions into an empty copy of the repository
 * tables of the given shape, dropped afterwards; CHECKPOINTs on both sides.
 */
async function measureBaseline(
  pool: pg.Pool,
  postmasterPid: number | null,
  name: BaselineName,
  shape: CopyShape,
  sessions: number,
): Promise<BaselineMeasurement & { rows: Record<RepositoryTable, number> }> {
  const schema = `bench_${name.toLowerCase()}`;
  await createRepositoryCopy(pool, schema, shape);
  await checkpoint(pool);
  progress(`${name}: INSERT ... SELECT per repository table, ${sessions} session(s), ${shape} copy`);
  const cpu = startCpuMeter(postmasterPid);
  const result = { ...(await runBaseline(pool, schema, sessions)), sessions, cpuSeconds: cpu.stop() };
  progress(`${name}: ${result.totalRows} rows in ${result.seconds.toFixed(2)}s`);
  await dropSchema(pool, schema);
  await checkpoint(pool);
  return result;
}

async function bench(opts: BenchOptions, cleanup: Cleanup) {
  const [database, temporal] = await Promise.all([startDatabase(cleanup), startTemporal(cleanup)]);
  // Room for the sqlRepositoryN sessions.
  const pool = createPool(database.url, { max: Math.max(4, opts.shards), applicationName: 'plandb-bench' });
  cleanup.add('close database pool', () => pool.end());

  const postmasterPid = await localPostmasterPid(pool);
  const legacy = await generateLegacyTable(pool, opts);
  const head = await migrateToHead(pool);
  progress(`repository schema migrated to ${head}`);

  // 1. Baselines: set-based SQL on the same data, one after the other.
  const loadBefore = os.loadavg();
  const sqlRepository1 = await measureBaseline(pool, postmasterPid, 'sqlRepository1', 'repository', 1);
  const sqlRepositoryN = await measureBaseline(pool, postmasterPid, 'sqlRepositoryN', 'repository', opts.shards);
  const sqlPrimaryKeysOnly1 = await measureBaseline(pool, postmasterPid, 'sqlPrimaryKeysOnly1', 'primaryKeysOnly', 1);
  for (const [name, other] of Object.entries({ sqlRepositoryN, sqlPrimaryKeysOnly1 })) {
    if (other.totalRows !== sqlRepository1.totalRows) {
      throw new Error(`unfair comparison: ${name} wrote ${other.totalRows} rows, sqlRepository1 ${sqlRepository1.totalRows}`);
    }
  }

  // 2. The backfillRepository workflow on the same data, into the real repository tables.
  const benchConfig = writeBenchConfig(
    { databaseUrl: database.url, temporalAddress: temporal.address, namespace: temporal.namespace, batchSize: opts.batchSize },
    cleanup,
  );
  const workflowOptions = { batchSize: opts.batchSize, workers: opts.workers, cpuProfDir: opts.cpuProfDir, workerHeapMb: opts.workerHeapMb, pool, postmasterPid };
  const workflow = await runBackfillWorkflow(benchConfig, workflowOptions, cleanup);
  if (workflow.result.status !== 'completed') throw new Error(`the backfill ended ${workflow.result.status}, not completed`);
  const written = await countRows(pool, 'public');
  if (written.plan_series !== sqlRepository1.rows.plan_series) {
    throw new Error(`unfair comparison: the workflow wrote ${written.plan_series} series rows, the baseline ${sqlRepository1.rows.plan_series}`);
  }
  for (const table of REPOSITORY_TABLES) {
    if (written[table] !== sqlRepository1.rows[table]) {
      progress(`warning: ${table}: workflow ${written[table]} rows, baseline ${sqlRepository1.rows[table]}`);
    }
  }
  await checkpoint(pool);

  // 3. The verify activity's full pass (db/verification.ts) over what the workflow wrote.
  progress('verify: legacy vs read-back checksums of every version, and table counts');
  const verifyCpu = startCpuMeter(postmasterPid);
  const verifyReport = await verifyRepository(pool, {
    batchSize: opts.verifyBatch,
    onProgress: (p) => {
      if ((p.artifactsRead / opts.verifyBatch) % 10 === 0) progress(`verify: ${p.versionsChecked} versions, ${p.mismatches} mismatches`);
    },
  });
  const verify = {
    seconds: verifyReport.seconds,
    versions: verifyReport.versionsChecked,
    mismatches: verifyReport.mismatches,
    cpuSeconds: verifyCpu.stop(),
  };
  progress(`verify: ${verify.versions} versions, ${verify.mismatches} mismatches in ${verify.seconds.toFixed(2)}s`);
  const problems = verificationProblems(verifyReport);
  if (problems.length) progress(`verify: ${problems.join('; ')}`);

  // 4. Cancel latency: force runs cancelled mid-chunk (last: they rewrite the repository).
  const cancel = opts.cancelProbes ? await probeCancelLatency(benchConfig, pool, opts.cancelProbes, opts.batchSize, cleanup) : null;

  return buildReport({
    artifacts: legacy.artifacts,
    plans: opts.plans,
    versionsPerPlan: opts.versions,
    seriesPerArtifact: opts.series,
    batchSize: opts.batchSize,
    workerHeapMb: opts.workerHeapMb,
    seriesRows: written.plan_series,
    totalRows: workflow.totalRows,
    rowsByTable: written,
    generateSeconds: legacy.seconds,
    baselines: { sqlRepository1, sqlRepositoryN, sqlPrimaryKeysOnly1 },
    workflow: {
      seconds: workflow.seconds,
      totalRows: workflow.totalRows,
      historyEvents: workflow.historyEvents,
      runs: workflow.runs,
      workers: opts.workers,
      cpuSeconds: workflow.cpuSeconds,
    },
    workersPeakRssMb: workflow.workersPeakRssMb,
    verify,
    cancel,
    database: database.source,
    loadAverage: { before: loadBefore, after: os.loadavg() },
  });
}

/** To the launcher over IPC (so nothing else that writes to fd 1 can mix in), else to stdout. */
function deliver(report: ReturnType<typeof buildReport>): Promise<void> {
  const message: BenchMessage = { type: 'report', report };
  return new Promise((resolve, reject) => {
    if (process.send) process.send(message, undefined, {}, (err) => (err ? reject(err) : resolve()));
    else process.stdout.write(`${JSON.stringify(report)}\n`, () => resolve());
  });
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    return 2;
  }
  const cleanup = new Cleanup();
  cleanup.onSignals();
  // The launcher relays Ctrl-C/SIGTERM as a message (we run in our own process group, see run.ts).
  process.on('message', (m: LauncherMessage) => {
    if (m.type === 'stop') cleanup.interrupt(m.signal, m.signal === 'SIGINT' ? 130 : 143);
  });
  // The launcher died: nobody will read the result, so stop and clean up.
  process.on('disconnect', () => cleanup.interrupt('launcher gone', 1));
  try {
    const report = await bench(opts, cleanup);
    await deliver(report);
    return 0;
  } catch (err) {
    progress(`failed: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    await cleanup.runAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
