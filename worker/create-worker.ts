import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, WorkerActivityDeps } from '../activities';
import { chunkTaskQueue } from '../model/backfill';
import { findPrebuiltBundle, workflowsEntry } from './workflow-bundle';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: WorkerActivityDeps;
  /** A prebuilt bundle file; defaults to dist/workflow-bundle.js when built, else bundles from source. */
  workflowBundlePath?: string | null;
  identity?: string;
  /** Backfill chunks this worker runs at once (PLANDB_MAX_CONCURRENT_CHUNKS); default the SDK's slot count. */
  maxConcurrentChunks?: number;
}

/**
 * plandb's worker: every workflow and activity on the task queue, and beside it an activity-only
 * worker for the backfill chunks on their own queue (model/backfill.ts chunkTaskQueue), which is what
 * lets a per-worker cap on chunks spread a run's shards over the workers. Both run and stop together.
 */
export interface PlandbWorker {
  run(): Promise<void>;
  /** Runs until `fn` settles, then shuts both down (as Worker.runUntil). */
  runUntil<R>(fn: Promise<R> | (() => Promise<R>)): Promise<R>;
  shutdown(): void;
  isRunning(): boolean;
}

export async function createWorker(opts: WorkerOptions): Promise<PlandbWorker> {
  const bundlePath = opts.workflowBundlePath === undefined ? findPrebuiltBundle() : opts.workflowBundlePath;
  const activities = createActivities(opts.deps);
  const common = { connection: opts.connection, namespace: opts.namespace, ...(opts.identity ? { identity: opts.identity } : {}) };
  const main = await Worker.create({
    ...common,
    taskQueue: opts.taskQueue,
    // backfillChunk stays here too: executions recorded before the chunk queue schedule it on this one.
    activities,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: workflowsEntry() }),
  });
  const chunks = await Worker.create({
    ...common,
    taskQueue: chunkTaskQueue(opts.taskQueue),
    activities: { backfillChunk: activities.backfillChunk },
    ...(opts.maxConcurrentChunks !== undefined && { maxConcurrentActivityTaskExecutions: opts.maxConcurrentChunks }),
  });
  const workers = [main, chunks];
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    run: async () => {
      // One stopping (a fatal error, or shutdown) stops the other; the first error is the one reported.
      const runs = workers.map((w) => w.run().finally(shutdown));
      const settled = await Promise.allSettled(runs);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
    },
    runUntil: (fn) => main.runUntil(chunks.runUntil(fn)),
    shutdown,
    isRunning: () => workers.some((w) => w.getState() === 'RUNNING'),
  };
}

/** PLANDB_MAX_CONCURRENT_CHUNKS: a positive integer, or unset for the SDK's default activity slots. */
export function maxConcurrentChunksFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.PLANDB_MAX_CONCURRENT_CHUNKS;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new Error(`PLANDB_MAX_CONCURRENT_CHUNKS must be an integer from 1 to 1000, got ${JSON.stringify(raw)}`);
  }
  return n;
}
