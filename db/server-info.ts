import { Queryable } from './connection';

export interface ServerInfo {
  /** e.g. "15.18" */
  version: string;
  versionNum: number;
  database: string;
  user: string;
}

export async function serverInfo(db: Queryable): Promise<ServerInfo> {
  const res = await db.query<{ version: string; num: string; database: string; usr: string }>(
    `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num,
            current_database() AS database, current_user AS usr`,
  );
  const r = res.rows[0];
  return { version: r.version.split(' ')[0], versionNum: Number(r.num), database: r.database, user: r.usr };
}

export async function tableExists(db: Queryable, table: string): Promise<boolean> {
  const res = await db.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [`public.${table}`]);
  return res.rows[0].present;
}

/**
 * What the server says about its parallelism, for the default shard count: whether it runs on this host
 * (a Unix socket or loopback address: its cores are ours to count) and its max_parallel_workers_per_gather,
 * which DBAs size to the server's cores (PostgreSQL does not report the core count itself).
 */
export async function serverParallelism(db: Queryable): Promise<{ local: boolean; parallelWorkersPerGather: number }> {
  const res = await db.query<{ local: boolean; per_gather: number }>(
    `SELECT inet_server_addr() IS NULL OR host(inet_server_addr()) IN ('127.0.0.1', '::1') AS local,
            current_setting('max_parallel_workers_per_gather')::int AS per_gather`,
  );
  return { local: res.rows[0].local, parallelWorkersPerGather: res.rows[0].per_gather };
}
