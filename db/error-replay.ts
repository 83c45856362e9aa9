/**
 * Error replay: a retry-errors run re-reads only the artifacts recorded as unresolved errors of an earlier
 * run, once the application team fixed them in plan_artifacts. Its one shard walks those artifact ids in
 * order (its cursor is an artifact id, as in any run), and each batch marks the earlier run's errors it
 * settled as resolved in the batch's own transaction (db/backfill-batch.ts): a retried batch or a resumed
 * run never resolves twice and never skips one.
 */
import { isFinalRunStatus } from '../model/backfill';
import { getRun } from './backfill-runs';
import type { Queryable } from './connection';
import { readArtifactTextsByIds, type LegacyArtifactText } from './legacy-reader';

/** Why a run's errors cannot be retried (unknown run, other environment, still active, nothing to retry). */
export class RetryRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryRefusedError';
  }
}

export interface RetryTarget {
  runId: string;
  /** Distinct artifacts with unresolved errors: the retry run's total. */
  artifacts: number;
  /** The highest of their ids: the retry run's range end. */
  lastArtifactId: number;
}

/** Checks that `runId`'s errors can be retried in `environment`; throws RetryRefusedError saying why not. */
export async function retryTarget(db: Queryable, environment: string, runId: string): Promise<RetryTarget> {
  const run = await getRun(db, runId);
  if (!run) throw new RetryRefusedError(`retryErrors: no backfill run "${runId}" in ${environment}`);
  if (run.environment !== environment) {
    throw new RetryRefusedError(`retryErrors: run ${runId} belongs to ${run.environment}, not ${environment}`);
  }
  if (!isFinalRunStatus(run.status)) {
    throw new RetryRefusedError(
      `retryErrors: run ${runId} is still ${run.status} (workflow ${run.workflowId ?? '?'}): let it end or cancel it, then retry its errors`,
    );
  }
  if (run.mode === 'dry-run')
    throw new RetryRefusedError(`retryErrors: run ${runId} is a dry run and wrote nothing: run a backfill instead`);
  const res = await db.query<{ total: number; open: number; last: number | null; resolvers: string | null }>(
    `SELECT count(*)::int8 AS total,
            count(DISTINCT artifact_id) FILTER (WHERE resolved_by_run_id IS NULL)::int8 AS open,
            max(artifact_id) FILTER (WHERE resolved_by_run_id IS NULL) AS last,
            string_agg(DISTINCT resolved_by_run_id, ', ') AS resolvers
       FROM plan_backfill_errors WHERE run_id = $1 AND artifact_id IS NOT NULL`,
    [runId],
  );
  const r = res.rows[0];
  if (r.total === 0) throw new RetryRefusedError(`retryErrors: run ${runId} recorded no errors: there is nothing to retry`);
  if (r.open === 0 || r.last === null) {
    throw new RetryRefusedError(`retryErrors: all ${r.total} errors of run ${runId} are already resolved (by run ${r.resolvers})`);
  }
  return { runId, artifacts: r.open, lastArtifactId: r.last };
}

export interface ReplayBatch {
  /** The artifacts still in plan_artifacts (a deleted one needs no migrating). */
  artifacts: LegacyArtifactText[];
  /** The last error's artifact id: where the cursor moves. */
  end: number;
  /** How many error artifacts the batch covers, deleted ones included. */
  ids: number;
}

/** The next `limit` artifacts with unresolved errors of `ofRunId` in (afterId, upToId]; null when none is left. */
export async function readReplayBatch(
  db: Queryable,
  ofRunId: string,
  range: { afterId: number; upToId: number; limit: number },
): Promise<ReplayBatch | null> {
  const res = await db.query<{ id: number }>(
    `SELECT DISTINCT artifact_id AS id FROM plan_backfill_errors
      WHERE run_id = $1 AND resolved_by_run_id IS NULL AND artifact_id > $2 AND artifact_id <= $3 ORDER BY 1 LIMIT $4`,
    [ofRunId, range.afterId, range.upToId, range.limit],
  );
  if (!res.rows.length) return null;
  const ids = res.rows.map((r) => r.id);
  return { artifacts: await readArtifactTextsByIds(db, ids), end: ids[ids.length - 1], ids: ids.length };
}

/**
 * Marks the unresolved errors on artifacts in (afterId, end] as resolved by `byRunId`, except those of
 * `stillFailing` (recorded again as errors of `byRunId`): the errors of `ofRunId` and of the runs it retried
 * in turn, so retrying the newest run of a chain settles the errors of the whole chain. Inside the batch's
 * transaction.
 */
export async function resolveReplayed(
  db: Queryable,
  a: { ofRunId: string; byRunId: string; afterId: number; end: number; stillFailing: number[] },
): Promise<number> {
  const res = await db.query(
    `WITH RECURSIVE chain(run_id) AS (
        SELECT $1::text
        UNION SELECT r.retry_of_run_id FROM plan_backfill_runs r JOIN chain c ON r.run_id = c.run_id WHERE r.retry_of_run_id IS NOT NULL)
     UPDATE plan_backfill_errors SET resolved_by_run_id = $2, resolved_at = now()
      WHERE run_id IN (SELECT run_id FROM chain) AND resolved_by_run_id IS NULL
        AND artifact_id > $3 AND artifact_id <= $4 AND artifact_id <> ALL($5::int8[])`,
    [a.ofRunId, a.byRunId, a.afterId, a.end, a.stillFailing],
  );
  return res.rowCount ?? 0;
}

/** Artifacts recorded as errors of any run and not resolved since: what the backfill left out on purpose. */
export async function unresolvedErrorArtifactIds(db: Queryable): Promise<Set<number>> {
  const res = await db.query<{ id: number }>(
    `SELECT DISTINCT artifact_id AS id FROM plan_backfill_errors WHERE resolved_by_run_id IS NULL`,
  );
  return new Set(res.rows.map((r) => Number(r.id)));
}
