/**
 * Advisory lock keys. Two-int keys (class, hashtext(environment)) keep plandb's locks apart from each
 * other and from the application's single-bigint locks.
 */
import { Queryable } from './connection';

/** Lock classes (first key of pg_advisory_xact_lock(int, int)). */
export const LOCK_CLASS = {
  /** Held by each backfill batch transaction, and by trim batches, per environment. */
  repositoryWrite: 0x706c01,
} as const;

/** Waits (up to the session's lock_timeout) for the per-environment repository write lock, until commit. */
export async function lockEnvironmentForWrite(db: Queryable, environment: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS.repositoryWrite, environment]);
}
