/**
 * What the scrape-time gauges report (metrics/live-gauges.ts): read from the environment's database at
 * each scrape, so every worker answers the same whichever of them ran the workflow.
 */
import type pg from 'pg';
import type { Queryable } from './connection';
import { PLAN_CREATE_SCOPE } from './maintenance';

export interface LiveState {
  /** null: no maintenance row (never switched). */
  maintenance: { enabled: boolean; since: Date } | null;
  /** plan_migration_runs rows not finished. */
  runningMigrations: number;
  /** Gates open now: the waiting migration's latest running gate step. */
  openGates: { gate: string; since: Date }[];
  /** The committed cursor of the running backfill run; null: none runs. */
  backfillCursor: number | null;
}

type Row = {
  maintenance_enabled: boolean | null;
  maintenance_since: Date | null;
  running_migrations: number;
  open_gates: { gate: string; since: string }[];
  backfill_cursor: number | null;
};

/**
 * One statement. Fails (42P01) where the schema migrations have not run: the caller reports nothing for that
 * environment. `timeoutMs`: pg's query_timeout (not in its types), so a hung server's connection is dropped
 * from the pool instead of being held by scrape after scrape.
 */
export async function readLiveState(db: Queryable, timeoutMs: number): Promise<LiveState> {
  const query: pg.QueryConfig & { query_timeout: number } = {
    text: `SELECT m.enabled AS maintenance_enabled, m.since AS maintenance_since,
             (SELECT count(*)::int FROM plan_migration_runs WHERE finished_at IS NULL) AS running_migrations,
             (SELECT coalesce(json_agg(json_build_object('gate', g.gate, 'since', g.at)), '[]'::json) FROM (
                SELECT DISTINCT ON (r.workflow_id) s.summary->>'gate' AS gate, s.at
                  FROM plan_migration_runs r JOIN plan_migration_steps s ON s.workflow_id = r.workflow_id
                 WHERE r.finished_at IS NULL AND r.status = 'waiting-approval'
                   AND s.kind = 'step' AND s.status = 'running' AND s.summary ? 'gate'
                 ORDER BY r.workflow_id, s.seq DESC) g) AS open_gates,
             (SELECT max("cursor") FROM plan_backfill_runs WHERE status = 'running') AS backfill_cursor
           FROM (SELECT 1) one LEFT JOIN plan_db_maintenance m ON m.scope = $1`,
    values: [PLAN_CREATE_SCOPE],
    query_timeout: timeoutMs,
  };
  const res = await db.query<Row>(query);
  const r = res.rows[0];
  return {
    maintenance:
      r.maintenance_enabled === null || r.maintenance_since === null
        ? null
        : { enabled: r.maintenance_enabled, since: r.maintenance_since },
    runningMigrations: r.running_migrations,
    openGates: r.open_gates.map((g) => ({ gate: g.gate, since: new Date(g.since) })),
    backfillCursor: r.backfill_cursor,
  };
}
