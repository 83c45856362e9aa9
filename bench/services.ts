/**
 * The services a benchmark run needs: a PostgreSQL database (an embedded PostgreSQL 15 in a throwaway
 * directory, or a scratch database on BENCH_DATABASE_URL's server) and a Temporal dev server.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../runtime/embedded-postgres';
import { startTemporalDevServer } from '../runtime/temporal-dev-server';
import type { Cleanup } from './cleanup';
import { progress } from './log';

export interface BenchDatabase {
  /** URL of the scratch database (a credential: never printed). */
  url: string;
  /** "embedded PostgreSQL 15" or "BENCH_DATABASE_URL". */
  source: string;
}

/** A scratch database; stopped/dropped (and its directory removed) by `cleanup`. */
export async function startDatabase(cleanup: Cleanup): Promise<BenchDatabase> {
  const external = process.env.BENCH_DATABASE_URL?.trim();
  return external ? scratchDatabaseOn(external, cleanup) : embeddedDatabase(cleanup);
}

async function embeddedDatabase(cleanup: Cleanup): Promise<BenchDatabase> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'plandb-bench-'));
  // As root the server runs as `postgres`, which must be able to enter this folder.
  fs.chmodSync(scratch, 0o755);
  cleanup.add('remove scratch directory', () => fs.rmSync(scratch, { recursive: true, force: true }));
  progress(`starting embedded PostgreSQL 15 in ${scratch}`);
  const server = await startEmbeddedPostgres({
    dataDir: path.join(scratch, 'pg', 'data'),
    log: (m) => {
      if (m.startsWith('[error]') && /FATAL|PANIC/.test(m)) progress(`postgres: ${m}`);
    },
  });
  cleanup.add('stop PostgreSQL', async () => {
    progress('stopping PostgreSQL');
    await server.stop();
  });
  await server.createDatabase('plandb_bench');
  return { url: server.urlFor('plandb_bench'), source: 'embedded PostgreSQL 15' };
}

async function scratchDatabaseOn(serverUrl: string, cleanup: Cleanup): Promise<BenchDatabase> {
  const name = `plandb_bench_${randomBytes(4).toString('hex')}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  progress(`creating scratch database ${name} on BENCH_DATABASE_URL's server`);
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  cleanup.add(`drop database ${name}`, async () => {
    progress(`dropping scratch database ${name}`);
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), source: 'BENCH_DATABASE_URL' };
}

export interface BenchTemporal {
  address: string;
  namespace: string;
}

export async function startTemporal(cleanup: Cleanup): Promise<BenchTemporal> {
  progress('starting Temporal dev server');
  const server = await startTemporalDevServer({ log: (m) => progress(`temporal: ${m}`) });
  cleanup.add('stop Temporal dev server', async () => {
    progress('stopping Temporal dev server');
    await server.stop();
  });
  progress(`Temporal dev server on ${server.address} (CLI from ${server.cliSource})`);
  return { address: server.address, namespace: server.namespace };
}
