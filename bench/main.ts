/**
 * The benchmark itself (started by bench/run.ts): SPEC §11 in one run. Generates the legacy table, measures the set-based SQL baselines,
 * the backfillRepository workflow scenarios through Temporal (workers in child processes, bench/scenarios.ts) and a full
 * checksum verification with one session and with --shards sessions, the cancel latency and an online migration with the
 * application writing (bench/online-cutover.ts), and hands the result to the launcher over IPC (or prints it when run directly). Exits 0
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
import { parseOptions, UsageError, USAGE, BenchOptions, type ScenarioName } from './options';
import {
  buildReport,
  summaryLines,
  type BaselineMeasurement,
  type BaselineName,
  type BenchMessage,
  type LauncherMessage,
  type VerifyMeasurement,
  type WorkflowMeasurement,
} from './report';
import { SCENARIOS, type ScenarioContext } from './scenarios';
import { countRows, createRepositoryCopy, CopyShape, dropSchema, migrateToHead, REPOSITORY_TABLES, RepositoryTable } from './schema';
import { startDatabase, startTemporal } from './services';
import { runBackfillWorkflow } from './workflow-run';
import { probeCancelLatency } from './cancel-probe';
import { measureOnlineCutover } from './online-cutover';

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

/** The full pass over the complete repository with `sessions` parallel sessions (verify.parallel). */
async function measureVerify(pool: pg.Pool, postmasterPid: number | null, sessions: number, batchSize: number): Promise<VerifyMeasurement> {
  progress(`verify, ${sessions} session(s): legacy vs read-back checksums of every version, and table counts`);
  const cpu = startCpuMeter(postmasterPid);
  let batches = 0;
  const report = await verifyRepository(pool, {
    batchSize,
    parallel: sessions,
    onProgress: (p) => {
      if (++batches % 20 === 0) progress(`verify: ${p.versionsChecked} versions, ${p.mismatches} mismatches`);
    },
  });
  const verify = {
    sessions,
    seconds: report.seconds,
    versions: report.versionsChecked,
    mismatches: report.mismatches,
    cpuSeconds: cpu.stop(),
  };
  progress(`verify, ${sessions} session(s): ${verify.versions} versions, ${verify.mismatches} mismatches in ${verify.seconds.toFixed(2)}s`);
  const problems = verificationProblems(report);
  if (problems.length) progress(`verify: ${problems.join('; ')}`);
  return verify;
}

/** A scenario ends with the whole legacy table in the repository: the rows the baselines wrote. */
async function checkRepositoryComplete(pool: pg.Pool, scenario: ScenarioName, baseline: Record<RepositoryTable, number>): Promise<void> {
  const written = await countRows(pool, 'public');
  if (written.plan_series !== baseline.plan_series) {
    throw new Error(
      `unfair comparison: after ${scenario} the repository holds ${written.plan_series} series rows, the baseline wrote ${baseline.plan_series}`,
    );
  }
  for (const table of REPOSITORY_TABLES) {
    if (written[table] !== baseline[table]) progress(`warning: ${scenario}: ${table}: ${written[table]} rows, baseline ${baseline[table]}`);
  }
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

  // 2. The backfillRepository workflow scenarios on the same data, into the real repository tables.
  const benchConfig = writeBenchConfig(
    {
      databaseUrl: database.url,
      temporalAddress: temporal.address,
      namespace: temporal.namespace,
      batchSize: opts.batchSize,
      shards: opts.shards,
    },
    cleanup,
  );
  const workerOptions = { workers: opts.workers, cpuProfDir: opts.cpuProfDir, workerHeapMb: opts.workerHeapMb, shards: opts.shards };
  const context: ScenarioContext = {
    pool,
    artifacts: legacy.artifacts,
    run: (range) =>
      runBackfillWorkflow(
        benchConfig,
        {
          ...workerOptions,
          batchSize: opts.batchSize,
          pool,
          postmasterPid,
        },
        range,
        cleanup,
      ),
  };
  const scenarios: Partial<Record<ScenarioName, WorkflowMeasurement>> = {};
  for (const name of opts.scenarios) {
    progress(`${name}: ${SCENARIOS[name].what}`);
    scenarios[name] = await SCENARIOS[name].measure(context);
    await checkRepositoryComplete(pool, name, sqlRepository1.rows);
    await checkpoint(pool);
  }
  const written = await countRows(pool, 'public');

  // 3. The verify activity's full pass (db/verification.ts) over the complete repository: one session, then --shards.
  const verify = {
    serial: await measureVerify(pool, postmasterPid, 1, opts.verifyBatch),
    parallel: await measureVerify(pool, postmasterPid, opts.shards, opts.verifyBatch),
  };

  // 4. Cancel latency: force runs cancelled mid-chunk (after the verify: they rewrite the repository).
  const cancel = opts.cancelProbes ? await probeCancelLatency(benchConfig, pool, opts.cancelProbes, opts.batchSize, cleanup) : null;

  // 5. The online cut-over: a whole migration with the application writing (last: it grows the legacy table).
  const online = opts.onlineRate
    ? await measureOnlineCutover(
        benchConfig,
        { ...workerOptions, pool, databaseUrl: database.url, verifyBatch: opts.verifyBatch },
        { rate: opts.onlineRate, updateFraction: opts.onlineUpdates, series: opts.series },
        cleanup,
      )
    : null;

  return buildReport({
    artifacts: legacy.artifacts,
    plans: opts.plans,
    versionsPerPlan: opts.versions,
    seriesPerArtifact: opts.series,
    batchSize: opts.batchSize,
    workerHeapMb: opts.workerHeapMb,
    seriesRows: written.plan_series,
    rowsByTable: written,
    generateSeconds: legacy.seconds,
    baselines: { sqlRepository1, sqlRepositoryN, sqlPrimaryKeysOnly1 },
    scenarios,
    verify,
    cancel,
    online,
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
    for (const line of summaryLines(report)) progress(line);
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
