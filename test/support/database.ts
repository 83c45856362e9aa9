/** Fresh databases on the shared test server (embedded PostgreSQL or TEST_DATABASE_URL's server). */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPool } from '../../db/connection';

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.PLANDB_TEST_ADMIN_URL;
  if (!url) throw new Error('PLANDB_TEST_ADMIN_URL is not set: run integration tests through jest (global setup)');
  return url;
}

export async function createTestDatabase(prefix = 'plandb_t'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), { max: 6 });
  return {
    name,
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
