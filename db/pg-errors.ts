/** Classification of PostgreSQL errors by SQLSTATE (https://www.postgresql.org/docs/15/errcodes-appendix.html). */

/**
 * Classes whose errors are caused by the rows being written: 22 data exception, 23 integrity constraint
 * violation, 54 program limit exceeded (54000: index row too large). Retrying the same rows cannot help,
 * but writing fewer of them can isolate the one at fault. Everything else (08 connection, 40 rollback,
 * 53 resources, 57 operator intervention, errors without a SQLSTATE...) is treated as infrastructure.
 */
const DATA_ERROR_CLASSES = new Set(['22', '23', '54']);

/** The SQLSTATE of a `pg` error, or null for anything else. */
export function sqlstateOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** True when `err` is a PostgreSQL error caused by the data written (see DATA_ERROR_CLASSES). */
export function isDataError(err: unknown): boolean {
  const sqlstate = sqlstateOf(err);
  return sqlstate !== null && DATA_ERROR_CLASSES.has(sqlstate.slice(0, 2));
}

/**
 * A batch lost a race with a concurrent shard's batch: the same version (a legacy duplicate in another
 * shard) committed first, or a deadlock was broken. Redoing the whole batch is right: it then sees the
 * other's commit (a skip or a conflict) instead of refusing the version as bad data.
 */
export function isWriteRace(err: unknown): boolean {
  const sqlstate = sqlstateOf(err);
  if (sqlstate === '40P01') return true;
  return sqlstate === '23505' && (err as { constraint?: unknown }).constraint === 'plan_versions_plan_id_version_pk';
}
