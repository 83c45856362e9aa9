/** The repository schema the benchmark writes into: our migrations, and empty copies for the SQL baselines. */
import pg from 'pg';
import { upgrade } from '../db/migrator';
import { withClient } from '../db/connection';

/** The PlanRepository tables, parents first (the order the baseline fills them). */
export const REPOSITORY_TABLES = ['plans', 'plan_versions', 'plan_kpis', 'plan_series', 'plan_events'] as const;
export type RepositoryTable = (typeof REPOSITORY_TABLES)[number];

/** Applies db/migrations to head through the wrapped migrator (advisory lock, drift check). */
export async function migrateToHead(pool: pg.Pool): Promise<string | null> {
  return withClient(pool, async (client) => (await upgrade(client)).head);
}

/**
 * What an empty copy of the repository tables keeps. `repository`: everything (LIKE ... INCLUDING ALL:
 * columns, defaults, checks, primary keys, unique constraints, indexes) plus the same foreign keys,
 * re-pointed at the copies. `primaryKeysOnly`: columns, defaults, checks and the primary keys only, so a
 * load into it shows what the foreign keys and secondary indexes cost.
 */
export type CopyShape = 'repository' | 'primaryKeysOnly';

/**
 * `schema` gets an empty copy of the repository tables of the given shape. Read from the migrated
 * tables, so the copy follows future migrations.
 */
export async function createRepositoryCopy(pool: pg.Pool, schema: string, shape: CopyShape): Promise<void> {
  const like = shape === 'repository' ? 'INCLUDING ALL' : 'INCLUDING ALL EXCLUDING INDEXES';
  // The constraints LIKE does not copy: foreign keys, or (without indexes) the primary keys.
  const constraintType = shape === 'repository' ? 'f' : 'p';
  await withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.query(`CREATE SCHEMA ${schema}`);
      for (const table of REPOSITORY_TABLES) {
        await client.query(`CREATE TABLE ${schema}.${table} (LIKE public.${table} ${like})`);
      }
      // With search_path = public the definitions name their referenced tables unqualified...
      await client.query('SET LOCAL search_path = public');
      const constraints = await client.query<{ table: string; name: string; def: string }>(
        `SELECT c.conrelid::regclass::text AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def
           FROM pg_constraint c
          WHERE c.contype = $1 AND c.connamespace = 'public'::regnamespace AND c.conrelid::regclass::text = ANY($2)`,
        [constraintType, [...REPOSITORY_TABLES]],
      );
      // ...so with search_path = the copy's schema they point at the copies.
      await client.query(`SET LOCAL search_path = ${schema}`);
      for (const c of constraints.rows) await client.query(`ALTER TABLE ${schema}.${c.table} ADD CONSTRAINT ${c.name} ${c.def}`);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  });
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

/** Row counts of the repository tables in `schema`. */
export async function countRows(pool: pg.Pool, schema: string): Promise<Record<RepositoryTable, number>> {
  const res = await pool.query<Record<RepositoryTable, number>>(
    `SELECT ${REPOSITORY_TABLES.map((t) => `(SELECT count(*) FROM ${schema}.${t})::int8 AS ${t}`).join(', ')}`,
  );
  return res.rows[0];
}
