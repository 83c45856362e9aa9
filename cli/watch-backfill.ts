/** Follows a backfill workflow until it closes, polling its `progress` query. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { BackfillProgress, BackfillResult, progressQuery } from '../workflows/definitions';
import { CliFailure } from './errors';
import { awaitResult } from './start-workflow';

export interface BackfillOutcome {
  /** The result, or the last progress the workflow answered when it did not complete. */
  progress: BackfillProgress | null;
  /** Set when the workflow did not complete: how it closed (failed, cancelled, terminated, ...) and why. */
  failure?: { status: string; error: CliFailure };
}

/**
 * The `progress` query, or null while the workflow cannot answer it: before its first task runs, when it
 * failed before registering the query, or when no worker answers within the deadline.
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
  intervalMs = 1000,
): Promise<BackfillOutcome> {
  // Never rejects: a rejection nobody awaits yet (we may be inside a query) would crash the process.
  const closed = awaitResult<BackfillResult>(handle).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  let last: BackfillProgress | null = null;
  for (;;) {
    const p = await queryProgress(handle);
    if (p) {
      last = p;
      await onProgress(p);
    }
    // An unref'd timer, so a finished watch does not hold the process for the rest of the interval.
    const end = await Promise.race([closed, sleep(intervalMs, null, { ref: false })]);
    if (!end) continue;
    if ('result' in end) return { progress: end.result };
    if (!(end.error instanceof CliFailure)) throw end.error;
    const status = await handle.describe().then(
      (d) => d.status.name.toLowerCase(),
      () => 'failed',
    );
    return { progress: (await queryProgress(handle)) ?? last, failure: { status, error: end.error } };
  }
}
