/** Row counts of the PlanRepository tables (exact counts: these feed evidence and capacity). */
import { Queryable } from './connection';
import { tableExists } from './server-info';

export const REPOSITORY_TABLES = ['plans', 'plan_versions', 'plan_kpis', 'plan_series', 'plan_events'] as const;
export type RepositoryTable = (typeof REPOSITORY_TABLES)[number];
export type RepositoryCounts = Record<RepositoryTable, number>;

/** Null when the repository tables do not exist yet (migrations not applied). */
export async function repositoryCounts(db: Queryable): Promise<RepositoryCounts | null> {
  if (!(await tableExists(db, 'plan_versions'))) return null;
  const res = await db.query<RepositoryCounts>(
    `SELECT ${REPOSITORY_TABLES.map((t) => `(SELECT count(*) FROM ${t})::int8 AS ${t}`).join(', ')}`,
  );
  return res.rows[0];
}
