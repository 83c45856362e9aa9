/** Row counts and a content digest of every repository table, to compare two databases or two moments (tests, the soak). */
import pg from 'pg';

const TABLES: Record<string, string> = {
  plans: 'plan_id, name, status, latest_version',
  plan_versions: 'plan_id, version, name, status, run_id, summary, source_artifact_id, source_checksum',
  plan_kpis: 'plan_id, version, name, value, unit',
  plan_series: 'plan_id, version, item, location, period, metric, value',
  plan_events: 'plan_id, version, seq, at, type, actor, detail',
};

export type RepositoryDigest = Record<string, number | string>;

export async function repositoryDigest(db: pg.Pool): Promise<RepositoryDigest> {
  const out: RepositoryDigest = {};
  for (const [table, columns] of Object.entries(TABLES)) {
    const res = await db.query(
      `SELECT count(*)::int AS n, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS d FROM (SELECT ${columns} FROM ${table}) t`,
    );
    out[table] = res.rows[0].n;
    out[`${table}_md5`] = res.rows[0].d;
  }
  return out;
}
