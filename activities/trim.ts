/**
 * The `trimCapacity` activity (SPEC §6): keeps the PlanRepository within the environment's maxRows
 * plan_series rows by deleting the oldest non-latest versions, never while a backfill of the same
 * environment is active. Metrics and the guard's alert log are what SREs watch (SPEC §9).
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { getEnvironment } from '../config/environment';
import { TrimRefusedError, trimRepository, type TrimCounts, type TrimResult } from '../db/capacity-trim';
import { blockingRun } from './backfill';
import { refuseDuringBulkLoad } from './bulk-load';
import { refreshRepositoryRowsAfter } from './capacity';
import type { WorkerActivityDeps } from './deps';
import { activityContext, heartbeat, withHeartbeat } from './heartbeat';

export interface TrimCapacityInput {
  environment: string;
  /** Defaults to the environment's capacity.maxRows (PLANS_DB_MAX_ROWS overrides it). */
  maxRows?: number;
  dryRun?: boolean;
  workflowId?: string;
}

export interface TrimReport extends TrimResult {
  /** capacity.alertThreshold (PLANS_DB_GUARD_ALERT_THRESHOLD); null: no alert. */
  alertThreshold: number | null;
  /** Rows trimmed exceeded alertThreshold, so the alert event was logged. */
  alerted: boolean;
  finishedAt: string;
}

export function createTrimActivities(deps: WorkerActivityDeps) {
  const { metrics } = deps;

  /**
   * Refuses while a backfill of the environment is running or paused and its workflow still runs, or while
   * a bulk load left the child tables without their foreign keys (a trim's deletes rely on their cascade).
   */
  async function refuseDuringBackfill(environment: string): Promise<void> {
    await refuseDuringBulkLoad(deps, environment, 'capacity trim');
    const run = await blockingRun(deps, environment);
    if (run)
      throw ApplicationFailure.nonRetryable(
        `a backfill of ${environment} is active (run ${run.runId}, ${run.status}, workflow ${run.workflowId ?? '?'}): trim after it ends`,
        'BackfillRunning',
      );
  }

  async function trimCapacity(input: TrimCapacityInput): Promise<TrimReport> {
    const { environment } = input;
    const { capacity } = getEnvironment(deps.config, environment);
    const maxRows = input.maxRows ?? capacity.maxRows;
    if (maxRows === null)
      throw ApplicationFailure.nonRetryable(
        `no maxRows for ${environment}: set environments.${environment}.capacity.maxRows in the config, PLANS_DB_MAX_ROWS, or the input's maxRows`,
        'ConfigError',
      );
    const dryRun = input.dryRun ?? false;
    const ctx = activityContext();
    let progress: Partial<TrimCounts> = {};
    let result: TrimResult;
    try {
      result = await withHeartbeat(
        () => progress,
        () =>
          trimRepository(deps.databases.pool(environment), {
            environment,
            maxRows,
            dryRun,
            workflowId: input.workflowId ?? null,
            guard: () => refuseDuringBackfill(environment),
            onBatch: (batch, soFar) => {
              metrics.writeLatency.observe({ environment, operation: 'trim_batch' }, batch.seconds);
              metrics.capacityTrimTotal.inc({ environment }, batch.rows);
              progress = soFar;
              heartbeat(progress);
              if (ctx?.cancellationSignal.aborted) throw new CancelledFailure('capacity trim cancelled after a committed batch');
            },
          }),
      );
    } catch (err) {
      if (err instanceof TrimRefusedError) throw ApplicationFailure.nonRetryable(err.message, err.reason);
      throw err;
    }
    const threshold = capacity.alertThreshold;
    const alerted = !dryRun && threshold !== null && result.rowsTrimmed > threshold;
    if (!dryRun) {
      metrics.lastTrimTimestamp.set({ environment }, Date.now() / 1000);
      await refreshRepositoryRowsAfter(deps, environment, 'trim');
    }
    if (alerted) {
      metrics.capacityTrimAlertsTotal.inc({ environment });
      deps.logger.warn({ event: 'plan_repository_capacity_trim_alert', environment, rowsTrimmed: result.rowsTrimmed, threshold, maxRows });
    }
    const report: TrimReport = { ...result, alertThreshold: threshold, alerted, finishedAt: new Date().toISOString() };
    deps.logger.info({ event: 'capacity_trim_finished', ...report });
    return report;
  }

  return { trimCapacity };
}
