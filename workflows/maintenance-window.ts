/**
 * The `maintenance-window` step of environmentMigration: plan the next window in an activity (time-zone
 * data stays out of workflow code), refuse it when the work left under maintenance cannot finish inside it,
 * else wait for it with a durable timer and check again at the opening. A refused window fails the step, so
 * the usual `decide` follows: retry plans the window after the refused one.
 */
import { ApplicationFailure, sleep } from '@temporalio/workflow';
import type { MaintenanceWindowPlan } from '../activities/backfill-eta';
import { formatSeconds } from '../model/backfill-eta';
import type { MaintenanceWindowSpec } from '../model/maintenance-window';
import { quick } from './activity-proxies';

export interface WindowWaitHooks {
  /** The window is planned and not open yet: the migration shows it and records the wait. */
  onWait(plan: MaintenanceWindowPlan): Promise<void>;
  /** The timer fired: the window is open. */
  onOpen(): void;
}

/** Why `plan` is refused, for the step's error and the decision it asks for. */
function tooShort(plan: MaintenanceWindowPlan): string {
  return (
    `the work left under maintenance (${plan.pendingArtifacts} artifacts at ${plan.artifactsPerSecond} artifacts/s, from ${plan.rateFrom}) ` +
    `needs ~${formatSeconds(plan.estimateSeconds ?? 0)}, but the window ${plan.opensAtLocal} → ${plan.closesAtLocal} allows ${formatSeconds(plan.budgetSeconds)}; ` +
    'decide retry to wait for the next window, or abort'
  );
}

/**
 * The step's work: each call (a retry after a refusal) plans the window after the one refused before. The
 * fit is checked again when the window opens: the work left may have grown while waiting.
 */
export function windowStep(
  environment: string,
  window: MaintenanceWindowSpec,
  hooks: WindowWaitHooks,
): () => Promise<MaintenanceWindowPlan> {
  let afterMs: number | undefined;
  return async () => {
    for (;;) {
      const plan = await quick.planMaintenanceWindow({ environment, window, ...(afterMs !== undefined && { afterMs }) });
      if (!plan.fits) {
        afterMs = Date.parse(plan.closesAt);
        throw ApplicationFailure.nonRetryable(tooShort(plan), 'MaintenanceWindowTooShort');
      }
      const waitMs = Date.parse(plan.opensAt) - Date.now();
      if (waitMs <= 0) return plan;
      await hooks.onWait(plan);
      await sleep(waitMs);
      hooks.onOpen();
    }
  };
}
