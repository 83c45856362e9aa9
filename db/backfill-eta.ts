/** What ETAs are computed from: the last completed run's rate, and the artifacts a backfill has still to write. */
import { measuredRate, type MeasuredRate } from '../model/backfill-eta';
import type { Queryable } from './connection';
import { tableExists } from './server-info';

/** The rate of the environment's newest completed non-dry-run backfill; null when it has none (or no run table yet). */
export async function lastCompletedRunRate(db: Queryable, environment: string): Promise<MeasuredRate | null> {
  if (!(await tableExists(db, 'plan_backfill_runs'))) return null;
  const res = await db.query<{ run_id: string; artifacts_read: number; started_at: Date; finished_at: Date }>(
    `SELECT run_id, artifacts_read, started_at, finished_at FROM plan_backfill_runs
      WHERE environment = $1 AND mode <> 'dry-run' AND status = 'completed' AND artifacts_read > 0 AND finished_at IS NOT NULL
      ORDER BY finished_at DESC LIMIT 1`,
    [environment],
  );
  const r = res.rows[0];
  return r
    ? measuredRate({
        environment,
        runId: r.run_id,
        artifactsRead: r.artifacts_read,
        startedAt: r.started_at.toISOString(),
        finishedAt: r.finished_at.toISOString(),
      })
    : null;
}

/**
 * Legacy artifacts less repository versions: about what a normal backfill still writes, from two counts
 * (an anti-join of the two tables would be exact but may outlast a short activity on a large table).
 * Rejected artifacts are never written, so they stay counted: the estimate errs long.
 */
export async function countUnwrittenArtifacts(db: Queryable): Promise<number> {
  const res = await db.query<{ n: string }>(
    `SELECT greatest((SELECT count(*) FROM plan_artifacts) - (SELECT count(*) FROM plan_versions), 0) AS n`,
  );
  return Number(res.rows[0].n);
}
