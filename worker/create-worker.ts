import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, WorkerActivityDeps } from '../activities';
import { findPrebuiltBundle, workflowsEntry } from './workflow-bundle';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: WorkerActivityDeps;
  /** A prebuilt bundle file; defaults to dist/workflow-bundle.js when built, else bundles from source. */
  workflowBundlePath?: string | null;
  identity?: string;
}

/** A worker for plandb's task queue with every workflow and activity registered. */
export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  const bundlePath = opts.workflowBundlePath === undefined ? findPrebuiltBundle() : opts.workflowBundlePath;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    activities: createActivities(opts.deps),
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: workflowsEntry() }),
  });
}
