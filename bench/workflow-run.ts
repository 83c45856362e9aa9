/**
 * The measured backfill: `backfillRepository` (normal mode) through Temporal, executed by the real
 * worker in one or more child processes polling the same task queue, from the start request to the
 * workflow's result.
 */
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { temporalConnectOptions } from '../config/temporal-connection';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { BackfillInput, BackfillResult } from '../workflows/definitions';
import { workflowIdFor } from '../model/ids';
import { PLAN_DB_ENVIRONMENT } from '../workflows/search-attributes';
import { BENCH_ENVIRONMENT, BenchConfig } from './bench-config';
import type { Cleanup } from './cleanup';
import { CpuSeconds, startCpuMeter } from './cpu-usage';
import { countHistoryEvents } from './history';
import { progress, secondsSince } from './log';
import { WorkerProcess } from './worker-process';

export interface WorkflowRunResult {
  seconds: number;
  result: BackfillResult;
  /** versions + series + KPIs + events + plans written. */
  totalRows: number;
  historyEvents: number;
  runs: number;
  /** Peak RSS of each worker process, in start order. */
  workersPeakRssMb: number[];
  cpuSeconds: CpuSeconds;
}

/** The run row's progress (the workflow's `progress` query only moves when a chunk activity returns). */
async function logRunProgress(pool: pg.Pool): Promise<void> {
  const res = await pool.query<{ artifacts_read: number; artifacts_total: number; series_written: number }>(
    `SELECT artifacts_read, artifacts_total, series_written FROM plan_backfill_runs ORDER BY started_at DESC LIMIT 1`,
  );
  const r = res.rows[0];
  if (r) progress(`workflow: ${r.artifacts_read}/${r.artifacts_total} artifacts, ${r.series_written} series rows committed`);
}

export async function runBackfillWorkflow(
  bench: BenchConfig,
  opts: {
    batchSize: number;
    workers: number;
    cpuProfDir: string | null;
    workerHeapMb: number | null;
    pool: pg.Pool;
    postmasterPid: number | null;
  },
  cleanup: Cleanup,
): Promise<WorkflowRunResult> {
  const { namespace, taskQueue } = bench.config.temporal;
  const workerOptions = { env: bench.childEnv, cpuProfDir: opts.cpuProfDir, heapMb: opts.workerHeapMb };
  const workers = await Promise.all(Array.from({ length: opts.workers }, () => WorkerProcess.start(workerOptions, cleanup)));
  const connection = await Connection.connect(temporalConnectOptions(bench.config.temporal));
  cleanup.add('close Temporal client', () => connection.close());
  const client = new Client({ connection, namespace });

  const workflowId = workflowIdFor(BENCH_ENVIRONMENT, 'backfill');
  const input: BackfillInput = { environment: BENCH_ENVIRONMENT, batchSize: opts.batchSize };
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
  return { seconds, result, totalRows, historyEvents: history.events, runs: history.runs, workersPeakRssMb, cpuSeconds };
}
