/** The throttle's health probes (model/throttle.ts decides): each reads one thing, only when it is on. */
import pg from 'pg';
import { REPOSITORY_TABLES } from '../model/tables';
import type { HealthReadings, ThrottleSettings } from '../model/throttle';

/** The tables a backfill reads and writes: waits, vacuums and locks on them slow it or are slowed by it. */
export const THROTTLE_TABLES = [...REPOSITORY_TABLES, 'plan_artifacts'] as const;

export interface ProbeTargets {
  settings: ThrottleSettings;
  /** Read lag on this replica instead of the primary's pg_stat_replication. */
  replicaUrl?: string;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

async function lockWaits(pool: pg.Pool): Promise<number> {
  const res = await pool.query(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
      WHERE NOT l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace`,
    [THROTTLE_TABLES],
  );
  return res.rows[0].n;
}

async function oldestTransactionSeconds(pool: pg.Pool): Promise<number | null> {
  // Client backends of this database other than the probe's own; our batches are not in flight between batches.
  const res = await pool.query(
    `SELECT extract(epoch FROM now() - min(xact_start))::float8 AS s FROM pg_stat_activity
      WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
        AND xact_start IS NOT NULL`,
  );
  return num(res.rows[0].s);
}

async function autovacuums(pool: pg.Pool): Promise<number> {
  const res = await pool.query(
    `SELECT count(*)::int AS n FROM pg_stat_progress_vacuum v JOIN pg_class c ON c.oid = v.relid
       JOIN pg_stat_activity a ON a.pid = v.pid AND a.backend_type = 'autovacuum worker'
      WHERE v.datname = current_database() AND c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace`,
    [THROTTLE_TABLES],
  );
  return res.rows[0].n;
}

async function primaryLag(pool: pg.Pool): Promise<{ seconds: number | null; bytes: number | null }> {
  const res = await pool.query(
    `SELECT max(extract(epoch FROM replay_lag))::float8 AS seconds,
            max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::float8 AS bytes
       FROM pg_stat_replication`,
  );
  return { seconds: num(res.rows[0].seconds), bytes: num(res.rows[0].bytes) };
}

async function replicaLag(url: string): Promise<{ seconds: number | null; bytes: number | null }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    // Received but not replayed WAL is the lag; an idle primary sends nothing, so an old replay time alone is not.
    const res = await client.query(
      `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                   ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS seconds,
              pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::float8 AS bytes`,
    );
    return { seconds: num(res.rows[0].seconds), bytes: num(res.rows[0].bytes) };
  } finally {
    await client.end();
  }
}

async function operatorQuery(pool: pg.Pool, query: string): Promise<number | null> {
  const res = await pool.query({ text: query, rowMode: 'array' });
  const value = res.rows[0]?.[0];
  if (value === undefined || value === null) return null;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error('backfill.throttle.query must return one number (a value > 0 means wait)');
  return n;
}

/** Reads the probes that are on. */
export async function readHealth(pool: pg.Pool, { settings: s, replicaUrl }: ProbeTargets): Promise<HealthReadings> {
  const r: HealthReadings = {};
  if (s.maxLockWaits !== null) r.lockWaits = await lockWaits(pool);
  if (s.maxTransactionSeconds !== null) r.oldestTransactionSeconds = await oldestTransactionSeconds(pool);
  if (s.autovacuum) r.autovacuums = await autovacuums(pool);
  if (s.maxReplicationLagSeconds !== null || s.maxReplicationLagBytes !== null) {
    const lag = replicaUrl ? await replicaLag(replicaUrl) : await primaryLag(pool);
    r.replicationLagSeconds = lag.seconds;
    r.replicationLagBytes = lag.bytes;
  }
  if (s.query !== null) r.queryValue = await operatorQuery(pool, s.query);
  return r;
}
