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
