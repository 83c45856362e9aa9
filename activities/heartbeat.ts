import { Context } from '@temporalio/activity';

/** The running activity's context, or null when the code is called directly (CLI, tests). */
export function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

export function heartbeat(details: unknown): void {
  activityContext()?.heartbeat(details);
}

/** How often withHeartbeat beats; the SDK throttles sends to 0.8 × the activity's heartbeatTimeout anyway. */
export const HEARTBEAT_EVERY_MS = 5_000;

/**
 * Heartbeats `details()` now and every HEARTBEAT_EVERY_MS while `fn` runs, so one long statement (a batch,
 * a dump, a count) keeps the activity alive and lets cancellation reach it. No-op outside an activity.
 */
export async function withHeartbeat<T>(details: () => unknown, fn: () => Promise<T>): Promise<T> {
  heartbeat(details());
  const beat = setInterval(() => heartbeat(details()), HEARTBEAT_EVERY_MS);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}
