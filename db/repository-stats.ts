/** Row counts of the PlanRepository tables (exact counts: these feed evidence and capacity). */
import { Queryable } from './connection';
import { tableExists } from './server-info';

import { REPOSITORY_TABLES, type RepositoryCounts, type RepositoryTable } from '../model/tables';

export { REPOSITORY_TABLES, type RepositoryCounts, type RepositoryTable } from '../model/tables';

/** Null when the repository tables do not exist yet (migrations not applied). */
export async function repositoryCounts(db: Queryable): Promise<RepositoryCounts | null> {
  if (!(await tableExists(db, 'plan_versions'))) return null;
  const res = await db.query<RepositoryCounts>(
    `SELECT ${REPOSITORY_TABLES.map((t) => `(SELECT count(*) FROM ${t})::int8 AS ${t}`).join(', ')}`,
  );
  return res.rows[0];
}

/** One table's exact count, for callers that spread the counts over several sessions. */
export async function repositoryTableCount(db: Queryable, table: RepositoryTable): Promise<number> {
  const res = await db.query<{ n: number }>(`SELECT count(*)::int8 AS n FROM ${table}`);
  return res.rows[0].n;
}

/** Empties the PlanRepository (rollback without a backup); plan_artifacts and the run history stay. */
export async function truncateRepository(db: Queryable): Promise<void> {
  await db.query(`TRUNCATE ${REPOSITORY_TABLES.join(', ')}`);
}
