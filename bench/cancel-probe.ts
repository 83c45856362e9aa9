/**
 * Cancel latency on the bench data (issue: p99 ≤ 5 s from the cancel request to the run row
 * `cancelled`): force backfills through the real worker, each cancelled mid-run at a random point; the
 * run row is polled from the request until it says `cancelled`, and the artifacts committed after the
 * request are counted (at most the batch in flight should be).
 */
import { Client, Connection } from '@temporalio/client';
import type pg from 'pg';
import { temporalConnectOptions } from '../config/temporal-connection';
import { BENCH_ENVIRONMENT, BenchConfig } from './bench-config';
import type { Cleanup } from './cleanup';
import { progress } from './log';
import { WorkerProcess } from './worker-process';

export interface CancelProbes {
  probes: number;
  seconds: number[];
  p50Seconds: number;
  p99Seconds: number;
  /** The most artifacts a run committed after its cancel request. */
  maxArtifactsAfterRequest: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runRow(pool: pg.Pool, workflowId: string) {
  const res = await pool.query<{ status: string; artifacts_read: number; artifacts_total: number }>(
    `SELECT status, artifacts_read, artifacts_total FROM plan_backfill_runs WHERE workflow_id = $1 ORDER BY started_at DESC LIMIT 1`,
    [workflowId],
  );
  return res.rows[0] ?? null;
}

/** The q-quantile (0..1) of `xs` by the nearest-rank method. */
function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

export async function probeCancelLatency(
  bench: BenchConfig,
  pool: pg.Pool,
  probes: number,
  batchSize: number,
  cleanup: Cleanup,
): Promise<CancelProbes> {
  const { namespace, taskQueue } = bench.config.temporal;
  const worker = await WorkerProcess.start({ env: bench.childEnv, cpuProfDir: null, heapMb: null }, cleanup);
  const connection = await Connection.connect(temporalConnectOptions(bench.config.temporal));
  const client = new Client({ connection, namespace });
  const seconds: number[] = [];
  let maxAfter = 0;
  try {
    for (let i = 0; i < probes; i++) {
      const workflowId = `plandb-bench-cancel-${i}-${Date.now()}`;
      const handle = await client.workflow.start('backfillRepository', {
        workflowId,
        taskQueue,
        args: [{ environment: BENCH_ENVIRONMENT, force: true, batchSize }],
      });
      // Into the run by 2 to 6 batches: the cancel lands in the middle of a chunk. At most up to the last
      // batch, so that a small table does not finish first (a finished run never turns `cancelled`).
      const batches = 2 + Math.floor(Math.random() * 5);
      const reached = (row: Awaited<ReturnType<typeof runRow>>) =>
        row !== null && row.artifacts_read >= Math.min(batchSize * batches, row.artifacts_total - batchSize);
      for (let row = await runRow(pool, workflowId); !reached(row); row = await runRow(pool, workflowId)) await sleep(20);
      const atRequest = (await runRow(pool, workflowId))!.artifacts_read;
      const requested = process.hrtime.bigint();
      await handle.cancel();
      let row = await runRow(pool, workflowId);
      while (row?.status !== 'cancelled') {
        await sleep(20);
        row = await runRow(pool, workflowId);
      }
      const took = Number(process.hrtime.bigint() - requested) / 1e9;
      await handle.result().catch(() => undefined);
      const after = (await runRow(pool, workflowId))!.artifacts_read - atRequest;
      seconds.push(Number(took.toFixed(3)));
      maxAfter = Math.max(maxAfter, after);
      progress(
        `cancel probe ${i + 1}/${probes}: run cancelled ${took.toFixed(2)}s after the request, ${after} artifacts committed after it`,
      );
    }
  } finally {
    await connection.close();
    await worker.stop();
  }
  return { probes, seconds, p50Seconds: quantile(seconds, 0.5), p99Seconds: quantile(seconds, 0.99), maxArtifactsAfterRequest: maxAfter };
}
