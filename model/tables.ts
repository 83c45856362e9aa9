/** Names of the PlanRepository tables: shared by the database layer, transforms, metrics and tests. Pure. */
export const REPOSITORY_TABLES = ['plans', 'plan_versions', 'plan_kpis', 'plan_series', 'plan_events'] as const;
export type RepositoryTable = (typeof REPOSITORY_TABLES)[number];
export type RepositoryCounts = Record<RepositoryTable, number>;
