/** Scratch databases on an environment's server (restores for drills): created fresh, dropped at the end. */
import { escapeIdentifier } from 'pg';
import { Queryable } from './connection';

/** Drops `name` if it exists and creates it empty (a retry replaces what an earlier attempt left). */
export async function recreateDatabase(db: Queryable, name: string): Promise<void> {
  await dropDatabase(db, name);
  await db.query(`CREATE DATABASE ${escapeIdentifier(name)} TEMPLATE template0`);
}

/** Drops `name` (sessions on it are ended); true when it existed. */
export async function dropDatabase(db: Queryable, name: string): Promise<boolean> {
  const exists = await db.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name]);
  await db.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
  return exists.rowCount === 1;
}
