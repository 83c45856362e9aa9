/** Follows a backfill workflow until it closes, polling its `progress` query. */
import type { WorkflowHandle } from '@temporalio/client';
import { BackfillProgress, BackfillResult, progressQuery } from '../workflows/definitions';
import { CliFailure } from './errors';
import { followWorkflow, ReconnectOptions } from './follow-workflow';

export interface BackfillOutcome {
  /** The result, or the last progress the workflow answered when it did not complete. */
  progress: BackfillProgress | null;
  /** Set when the workflow did not complete: how it closed (failed, cancelled, terminated, ...) and why. */
  failure?: { status: string; error: CliFailure };
}

/**
 * The `progress` query, or null while the workflow cannot answer it: before its first task runs, when it
 * failed before registering the query, when no worker answers within the deadline, or when Temporal is
 * out of reach.
 */
export async function queryProgress(handle: WorkflowHandle, timeoutMs = 5000): Promise<BackfillProgress | null> {
  try {
    return await handle.client.withDeadline(Date.now() + timeoutMs, () => handle.query(progressQuery));
  } catch {
    return null;
  }
}

export async function watchBackfill(
  handle: WorkflowHandle,
  onProgress: (p: BackfillProgress) => Promise<void>,
  reconnect: ReconnectOptions,
  intervalMs = 1000,
): Promise<BackfillOutcome> {
  let last: BackfillProgress | null = null;
  const closed = await followWorkflow<BackfillResult, BackfillProgress>(handle, {
    poll: () => queryProgress(handle),
    onState: (p) => {
      last = p;
      return onProgress(p);
    },
    reconnect,
    intervalMs,
  });
  if ('result' in closed) return { progress: closed.result };
  const status = await handle.describe().then(
    (d) => d.status.name.toLowerCase(),
    () => 'failed',
  );
  return { progress: (await queryProgress(handle)) ?? last, failure: { status, error: closed.failure } };
}
