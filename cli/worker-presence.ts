/**
 * "Nobody is listening": a workflow started on a task queue no worker polls just sits there, and a CLI
 * waiting for it would look hung. The follow loop asks Temporal for the queue's pollers and says so
 * once, and once more when a worker shows up. The decisions are pure; `pollerCount` asks Temporal.
 */
import type { WorkflowClient } from '@temporalio/client';

/** Where the workers should poll, for the question and the message. */
export interface WorkerTarget {
  address: string;
  namespace: string;
  taskQueue: string;
  log(line: string): void;
}

/** Not asked in the first moments: a worker started together with the command may not have polled yet. */
// temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW (@temporalio/proto is not a direct dependency).
const TASK_QUEUE_TYPE_WORKFLOW = 1;

export const WORKER_CHECK_GRACE_MS = 2_000;
export const WORKER_CHECK_EVERY_MS = 3_000;

export interface WorkerWatch {
  /** The "no worker" warning was printed and no worker has been seen since. */
  warned: boolean;
  /** Elapsed time of the last question, null before the first. */
  lastCheckMs: number | null;
}

export const initialWorkerWatch: WorkerWatch = { warned: false, lastCheckMs: null };

/** Whether to ask Temporal now, `elapsedMs` after the follow began. */
export function workerCheckDue(watch: WorkerWatch, elapsedMs: number): boolean {
  if (elapsedMs < WORKER_CHECK_GRACE_MS) return false;
  return watch.lastCheckMs === null || elapsedMs - watch.lastCheckMs >= WORKER_CHECK_EVERY_MS;
}

export type WorkerNotice = 'missing' | 'arrived' | null;

/**
 * What to say after a question answered with `pollers` (null: Temporal did not answer, so nothing is
 * known and nothing is said): "missing" once while nobody polls, "arrived" once when someone does after that.
 */
export function workerNotice(watch: WorkerWatch, pollers: number | null, elapsedMs: number): { watch: WorkerWatch; notice: WorkerNotice } {
  const checked = { ...watch, lastCheckMs: elapsedMs };
  if (pollers === null) return { watch: checked, notice: null };
  if (pollers === 0) return { watch: { ...checked, warned: true }, notice: watch.warned ? null : 'missing' };
  return { watch: { ...checked, warned: false }, notice: watch.warned ? 'arrived' : null };
}

export function workerMessage(notice: 'missing' | 'arrived', target: WorkerTarget, workflowId: string, waiting: boolean): string {
  const where = `task queue ${target.taskQueue} on ${target.address}/${target.namespace}`;
  if (notice === 'arrived') return `a worker now polls ${where}; ${workflowId} can proceed`;
  return (
    `no worker polls ${where}: ${workflowId} will not make progress until one does. ` +
    `Start one with \`plandb worker\` (same config), or \`plandb dev\` for a local Temporal server and worker` +
    (waiting ? '; still waiting' : '')
  );
}

/** The workflow-task pollers Temporal has seen recently on the queue; null when it cannot answer. */
export async function pollerCount(client: WorkflowClient, target: WorkerTarget): Promise<number | null> {
  try {
    const res = await client.workflowService.describeTaskQueue({
      namespace: target.namespace,
      taskQueue: { name: target.taskQueue },
      taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
    });
    return res.pollers?.length ?? 0;
  } catch {
    return null;
  }
}

/** For a command that returns without waiting: one look (after the grace), a warning if nobody polls. */
export async function warnIfNoWorker(client: WorkflowClient, target: WorkerTarget, workflowId: string): Promise<void> {
  let pollers = await pollerCount(client, target);
  if (pollers === 0) {
    await new Promise((resolve) => setTimeout(resolve, WORKER_CHECK_GRACE_MS));
    pollers = await pollerCount(client, target);
  }
  if (pollers === 0) target.log(workerMessage('missing', target, workflowId, false));
}
