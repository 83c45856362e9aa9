/**
 * Advisory lock keys. Two-int keys (class, hashtext(environment)) keep plandb's locks apart from each
 * other and from the application's single-bigint locks.
 */
import { Queryable } from './connection';

/** Lock classes (first key of pg_advisory_xact_lock(int, int)). */
export const LOCK_CLASS = {
  /** Per environment: shared by backfill batch transactions (shards run at once), exclusive for trims and restores. */
  repositoryWrite: 0x706c01,
  /** Session lock held by a capacity trim for its whole run, per environment. */
  capacityTrim: 0x706c02,
} as const;

/** Waits (up to the session's lock_timeout) for the per-environment repository write lock, exclusively, until commit. */
export async function lockEnvironmentForWrite(db: Queryable, environment: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS.repositoryWrite, environment]);
}

/**
 * The same lock, shared: a backfill's shards write at once (their batches keep out of each other's way by
 * locking plans in one order), while a trim or restore still waits for every batch in flight.
 */
export async function lockEnvironmentForBackfill(db: Queryable, environment: string): Promise<void> {
  await db.query('SELECT pg_advisory_xact_lock_shared($1, hashtext($2))', [LOCK_CLASS.repositoryWrite, environment]);
}

/**
 * One capacity trim per environment at a time: each counts the rows once, at its start, so two at
 * once would both trim the same excess. Session-level: unlock before the connection goes back to the pool.
 */
export async function tryLockEnvironmentForTrim(db: Queryable, environment: string): Promise<boolean> {
  const res = await db.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [
    LOCK_CLASS.capacityTrim,
    environment,
  ]);
  return res.rows[0].locked;
}

export async function unlockEnvironmentForTrim(db: Queryable, environment: string): Promise<void> {
  await db.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS.capacityTrim, environment]);
}

/**
 * Runs `fn` while this connection holds the environment's repository write lock (a transaction that
 * writes nothing itself): backfill batches and trims wait meanwhile, e.g. while pg_restore replaces the tables.
 */
export async function whileHoldingWriteLock<T>(client: Queryable, environment: string, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await lockEnvironmentForWrite(client, environment);
    return await fn();
  } finally {
    await client.query('COMMIT');
  }
}
