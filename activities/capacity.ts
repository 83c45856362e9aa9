/**
 * The `recordCapacity` activity (SPEC §6): exact row counts of the PlanRepository tables, the
 * recommended PLANS_DB_MAX_ROWS next to the configured capacity, and the `plan_repository_rows` gauge.
 */
import { ApplicationFailure } from '@temporalio/common';
import { getEnvironment } from '../config/environment';
import { repositoryCounts, REPOSITORY_TABLES, type RepositoryCounts } from '../db/repository-stats';
import { repositoryRowsGauge } from '../metrics/repository-gauge';
import { MAX_ROWS_RULE, recommendMaxRows } from '../model/capacity';
import type { ActivityDeps } from './deps';

export interface RecordCapacityInput {
  environment: string;
}

export interface CapacityReport {
  environment: string;
  counts: RepositoryCounts;
  planSeriesRows: number;
  /** Configured (PLANS_DB_MAX_ROWS overrides the file); null: no trimming. */
  maxRows: number | null;
  alertThreshold: number | null;
  recommendedMaxRows: number | null;
  rule: string;
  /** plan_series rows / maxRows. */
  utilization: number | null;
  /** The next capacity trim will delete versions. */
  overMaxRows: boolean;
  measuredAt: string;
}

/** Counts the PlanRepository tables exactly and sets plan_repository_rows (null, nothing set: no tables). */
export async function refreshRepositoryRows(deps: ActivityDeps, environment: string): Promise<RepositoryCounts | null> {
  const counts = await repositoryCounts(deps.databases.pool(environment));
  const gauge = repositoryRowsGauge(deps.metrics.registry);
  if (counts) for (const table of REPOSITORY_TABLES) gauge.set({ environment, table }, counts[table]);
  return counts;
}

/**
 * After a backfill, trim, rollback or restore changed the repository, so the gauge does not show the old
 * size until the next recordCapacity. A failed count is logged: the step itself succeeded.
 */
export async function refreshRepositoryRowsAfter(deps: ActivityDeps, environment: string, after: string): Promise<void> {
  try {
    await refreshRepositoryRows(deps, environment);
  } catch (err) {
    deps.logger.warn({ event: 'repository_rows_refresh_failed', environment, after, error: (err as Error).message });
  }
}

export function createCapacityActivities(deps: ActivityDeps) {
  async function recordCapacity(input: RecordCapacityInput): Promise<CapacityReport> {
    const { environment } = input;
    const { capacity } = getEnvironment(deps.config, environment);
    const counts = await refreshRepositoryRows(deps, environment);
    if (!counts)
      throw ApplicationFailure.nonRetryable(`${environment} has no PlanRepository tables: apply the migrations first`, 'RepositoryMissing');
    const planSeriesRows = counts.plan_series;
    const report: CapacityReport = {
      environment,
      counts,
      planSeriesRows,
      maxRows: capacity.maxRows,
      alertThreshold: capacity.alertThreshold,
      recommendedMaxRows: recommendMaxRows(planSeriesRows),
      rule: MAX_ROWS_RULE,
      utilization: capacity.maxRows ? planSeriesRows / capacity.maxRows : null,
      overMaxRows: capacity.maxRows !== null && planSeriesRows > capacity.maxRows,
      measuredAt: new Date().toISOString(),
    };
    deps.logger.info({ event: 'capacity_recorded', ...report });
    return report;
  }

  return { recordCapacity };
}
