/** `plan_repository_rows{environment,table}` (SPEC §9): the PlanRepository's size, counted after every backfill, trim, rollback, restore and recordCapacity. */
import { Gauge, Registry } from 'prom-client';

export const REPOSITORY_ROWS_METRIC = 'plan_repository_rows';

export type RepositoryRowsGauge = Gauge<'environment' | 'table'>;

/** The gauge on `registry`, registered on first use: createMetrics and the capacity activity get the same one. */
export function repositoryRowsGauge(registry: Registry): RepositoryRowsGauge {
  const existing = registry.getSingleMetric(REPOSITORY_ROWS_METRIC);
  if (existing) return existing as RepositoryRowsGauge;
  return new Gauge({
    name: REPOSITORY_ROWS_METRIC,
    help: 'Rows in each PlanRepository table, counted after every backfill, trim, rollback, restore and recordCapacity',
    labelNames: ['environment', 'table'] as const,
    registers: [registry],
  });
}
