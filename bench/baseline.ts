/**
 * The in-database limit: one set-based `INSERT ... SELECT ... FROM plan_artifacts, jsonb_to_recordset(...)`
 * per repository table, into an empty copy of the repository schema. No validation, no canonical checksum
 * (a sha256 of the stored payload text stands in for it), so it is an upper bound for any backfill that
 * does the same writes. It handles both KPI formats so it writes exactly the rows the backfill writes.
 * With N sessions each statement runs once per disjoint `plan_artifacts.id` range, in parallel.
 */
import pg from 'pg';
import { progress, secondsSince } from './log';
import { RepositoryTable } from './schema';

/** The statements into schema `s`; with `inRange`, each reads only the artifacts with ids in [$1, $2]. */
const statements = (s: string, inRange: boolean): [RepositoryTable, string][] => {
  // Every statement ends in its FROM list, and `a` is the artifact a row comes from (for `plans`, the
  // latest version's, so each plan is written by exactly one session).
  const where = inRange ? ' WHERE a.id BETWEEN $1 AND $2' : '';
  return [
    [
      'plans',
      `INSERT INTO ${s}.plans (plan_id, name, status, latest_version, created_at, updated_at)
       SELECT a.plan_id, a.payload->>'name', a.payload->>'status', a.version, f.created_at, now()
         FROM (SELECT plan_id, max(version) AS version, min(created_at) AS created_at FROM plan_artifacts GROUP BY plan_id) f
         JOIN plan_artifacts a ON a.plan_id = f.plan_id AND a.version = f.version${where}`,
    ],
    [
      'plan_versions',
      `INSERT INTO ${s}.plan_versions (plan_id, version, name, status, run_id, summary, source_artifact_id, source_checksum,
                                       artifact_created_at, backfilled_at, backfill_run_id)
       SELECT a.plan_id, a.version, a.payload->>'name', a.payload->>'status', a.payload->>'run_id',
              coalesce(a.payload->'summary', '{}'::jsonb), a.id, encode(sha256(convert_to(a.payload::text, 'UTF8')), 'hex'),
              a.created_at, now(), 'baseline'
         FROM plan_artifacts a${where}`,
    ],
    [
      'plan_kpis',
      // Current format: an array of {name, value, unit}; older: a {name: value} map (unit null).
      `INSERT INTO ${s}.plan_kpis (plan_id, version, name, value, unit)
       SELECT a.plan_id, a.version, k.name, k.value, k.unit
         FROM plan_artifacts a CROSS JOIN LATERAL (
                SELECT r.name, r.value, r.unit
                  FROM jsonb_to_recordset(CASE WHEN jsonb_typeof(a.payload->'kpis') = 'array' THEN a.payload->'kpis' END)
                       AS r(name text, value float8, unit text)
                UNION ALL
                SELECT m.key, (m.value #>> '{}')::float8, NULL
                  FROM jsonb_each(CASE WHEN jsonb_typeof(a.payload->'kpis') = 'object' THEN a.payload->'kpis' END) AS m
              ) k${where}`,
    ],
    [
      'plan_series',
      `INSERT INTO ${s}.plan_series (plan_id, version, item, location, period, metric, value)
       SELECT a.plan_id, a.version, r.item, r.location, r.period, r.metric, r.value
         FROM plan_artifacts a,
              jsonb_to_recordset(a.payload->'series') AS r(item text, location text, period text, metric text, value float8)${where}`,
    ],
    [
      'plan_events',
      `INSERT INTO ${s}.plan_events (plan_id, version, seq, at, type, actor, detail)
       SELECT a.plan_id, a.version, (e.ord - 1)::int, (e.ev->>'at')::timestamptz, e.ev->>'type', e.ev->>'actor',
              coalesce(e.ev->'detail', '{}'::jsonb)
         FROM plan_artifacts a, jsonb_array_elements(a.payload->'events') WITH ORDINALITY AS e(ev, ord)${where}`,
    ],
  ];
};

export interface BaselineResult {
  seconds: number;
  rows: Record<RepositoryTable, number>;
  totalRows: number;
  secondsByTable: Record<RepositoryTable, number>;
}

/**
 * `sessions` disjoint, contiguous `plan_artifacts.id` ranges [first, last] of (nearly) equal artifact
 * counts, or one range for the whole table; fewer when there are fewer artifacts than sessions.
 */
async function idRanges(pool: pg.Pool, sessions: number): Promise<[string, string][]> {
  const res = await pool.query<{ first: string; last: string }>(
    `SELECT min(id) AS first, max(id) AS last
       FROM (SELECT id, ntile($1) OVER (ORDER BY id) AS shard FROM plan_artifacts) t
      GROUP BY shard ORDER BY shard`,
    [sessions],
  );
  return res.rows.map((r) => [r.first, r.last]);
}

/**
 * Runs the five statements in order, parents first, and times them. With several sessions, all
 * sessions finish a table before any starts the next: a child row's foreign key check does not see a
 * parent row another session has not committed yet.
 */
export async function runBaseline(pool: pg.Pool, schema: string, sessions: number): Promise<BaselineResult> {
  if (sessions > 1 && (pool.options.max ?? 10) < sessions) throw new Error(`the pool holds fewer than ${sessions} connections`);
  // Outside the timed part; one session reads the whole table without the range filter.
  const ranges = sessions > 1 ? await idRanges(pool, sessions) : [null];
  const rows = {} as Record<RepositoryTable, number>;
  const secondsByTable = {} as Record<RepositoryTable, number>;
  const started = process.hrtime.bigint();
  for (const [table, sql] of statements(schema, sessions > 1)) {
    const t0 = process.hrtime.bigint();
    const results = await Promise.all(ranges.map((range) => pool.query(sql, range ?? undefined)));
    rows[table] = results.reduce((n, res) => n + (res.rowCount ?? 0), 0);
    secondsByTable[table] = secondsSince(t0);
    progress(`baseline ${schema}: ${table} ${rows[table]} rows in ${secondsByTable[table].toFixed(2)}s`);
  }
  const seconds = secondsSince(started);
  const totalRows = Object.values(rows).reduce((a, b) => a + b, 0);
  return { seconds, rows, totalRows, secondsByTable };
}
