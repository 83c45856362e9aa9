import pg from 'pg';

// int8 columns (ids, cursors, counters) come back as JS numbers; ids past 2^53 are refused, not rounded.
pg.types.setTypeParser(pg.types.builtins.INT8, (text: string) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`bigint ${text} exceeds JavaScript's safe integer range`);
  return n;
});

export interface PoolOptions {
  max?: number;
  applicationName?: string;
}

/** A pool for one environment's database. The URL comes from config's named env var, never from inputs. */
export function createPool(url: string, opts: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 4,
    application_name: opts.applicationName ?? 'plandb',
    connectionTimeoutMillis: 15_000,
  });
  // An idle client that loses its server (restart, pg_terminate_backend) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs `fn` on one dedicated connection and always releases it; a connection that failed is destroyed
 * rather than returned to the pool.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client whose server goes away between queries emits 'error'; without a listener
  // that would crash the process. The next query on it fails and reports the problem instead.
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost = err;
  };
  client.on('error', onError);
  let failed = false;
  try {
    return await fn(client);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    client.off('error', onError);
    client.release(failed || lost !== undefined);
  }
}

export type Queryable = pg.Pool | pg.PoolClient | pg.Client;
