/**
 * The measured backfill: `backfillRepository` (normal mode) through Temporal, executed by the real
 * worker in one or more child processes polling the same task queue, from the start request to the
 * workflow's result. One call is one run, with its own worker processes.
 */
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { temporalConnectOptions } from '../config/temporal-connection';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { type BackfillInput, type BackfillResult } from '../workflows/definitions';
import { workflowIdFor } from '../model/ids';
import { PLAN_DB_ENVIRONMENT } from '../workflows/search-attributes';
import { BENCH_ENVIRONMENT, BenchConfig } from './bench-config';
import type { Cleanup } from './cleanup';
import { startCpuMeter } from './cpu-usage';
import type { WorkflowMeasurement } from './report';
import { countHistoryEvents } from './history';
import { progress, secondsSince } from './log';
import { WorkerProcess } from './worker-process';

/** A run's measurement (bench/report.ts) and how it ended. */
export interface WorkflowRunResult extends WorkflowMeasurement {
  result: BackfillResult;
}

/** Which artifacts one run covers: all (after the repository's state decides the path), or a part. */
export interface RunRange {
  /** At most this many artifacts, from the start of the id range. */
  limit?: number;
  /** Start after this artifact id. */
  afterArtifactId?: number;
}

/** The backfill input of a bench run: its batch size, shard count and range. */
export function backfillInput(batchSize: number, shards: number, range: RunRange): BackfillInput {
  const input: BackfillInput = { environment: BENCH_ENVIRONMENT, batchSize, shards };
  if (range.limit !== undefined) input.limit = range.limit;
  if (range.afterArtifactId !== undefined) input.resumeFrom = `artifact:${range.afterArtifactId}`;
  return input;
}

/** The run row's progress (the workflow's `progress` query only moves when a chunk activity returns). */
async function logRunProgress(pool: pg.Pool): Promise<void> {
  const res = await pool.query<{ artifacts_read: number; artifacts_total: number; series_written: number }>(
    `SELECT artifacts_read, artifacts_total, series_written FROM plan_backfill_runs ORDER BY started_at DESC LIMIT 1`,
  );
  const r = res.rows[0];
  if (r) progress(`workflow: ${r.artifacts_read}/${r.artifacts_total} artifacts, ${r.series_written} series rows committed`);
}

/** How a bench run's workers run: how many, their profiling and heap, and the shards they share. */
export interface BenchWorkerOptions {
  workers: number;
  cpuProfDir: string | null;
  workerHeapMb: number | null;
  shards: number;
}

/**
 * A run's worker processes and a Temporal client, both closed by `cleanup` (workers also by their `stop`).
 * With several workers, each takes its share of the shards: Temporal would otherwise hand every chunk to
 * the worker that polls first.
 */
export async function startBenchWorkers(bench: BenchConfig, opts: BenchWorkerOptions, cleanup: Cleanup) {
  const env =
    opts.workers > 1 ? { ...bench.childEnv, PLANDB_MAX_CONCURRENT_CHUNKS: String(Math.ceil(opts.shards / opts.workers)) } : bench.childEnv;
  const workerOptions = { env, cpuProfDir: opts.cpuProfDir, heapMb: opts.workerHeapMb };
  const workers = await Promise.all(Array.from({ length: opts.workers }, () => WorkerProcess.start(workerOptions, cleanup)));
  const connection = await Connection.connect(temporalConnectOptions(bench.config.temporal));
  cleanup.add('close Temporal client', () => connection.close());
  return { workers, client: new Client({ connection, namespace: bench.config.temporal.namespace }) };
}

export async function runBackfillWorkflow(
  bench: BenchConfig,
  opts: BenchWorkerOptions & { batchSize: number; pool: pg.Pool; postmasterPid: number | null },
  range: RunRange,
  cleanup: Cleanup,
): Promise<WorkflowRunResult> {
  const { taskQueue } = bench.config.temporal;
  const { workers, client } = await startBenchWorkers(bench, opts, cleanup);

  const workflowId = workflowIdFor(BENCH_ENVIRONMENT, 'backfill');
  const input = backfillInput(opts.batchSize, opts.shards, range);
  progress(`starting backfillRepository ${JSON.stringify(input)} as ${workflowId}`);
  const meter = startCpuMeter(
    opts.postmasterPid,
    workers.map((w) => w.pid),
  );
  const started = process.hrtime.bigint();
  const handle = await client.workflow.start('backfillRepository', {
    workflowId,
    taskQueue,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    typedSearchAttributes: [{ key: PLAN_DB_ENVIRONMENT, value: BENCH_ENVIRONMENT }],
  });
  const ticker = setInterval(() => void logRunProgress(opts.pool).catch(() => undefined), 10_000);
  let result: BackfillResult;
  try {
    result = (await handle.result()) as BackfillResult;
  } finally {
    clearInterval(ticker);
  }
  const seconds = secondsSince(started);
  const cpuSeconds = meter.stop();
  const totalRows = result.versionsWritten + result.seriesWritten + result.kpisWritten + result.eventsWritten + result.plansWritten;
  progress(`workflow ${result.status}: ${totalRows} rows in ${seconds.toFixed(2)}s`);

  const workersPeakRssMb = await Promise.all(workers.map((w) => w.stop()));
  const history = await countHistoryEvents(client, workflowId, handle.firstExecutionRunId);
  return {
    seconds,
    result,
    totalRows,
    historyEvents: history.events,
    runs: history.runs,
    workersPeakRssMb,
    cpuSeconds,
    shards: input.shards ?? null,
  };
}
