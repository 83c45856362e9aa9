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
