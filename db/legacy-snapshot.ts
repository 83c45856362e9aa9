/**
 * Which legacy rows changed since a run read them, without reading their payloads. Every UPDATE of a row
 * writes a new row version whose `xmin` is the writing transaction, so a row whose `xmin` is older than the
 * snapshot a run took as it started has not changed since that run read it. Each run row records that
 * snapshot's xmin (options.legacySnapshot); the cut-over's delta then hashes only the payloads of rows
 * changed since their version's run started, not every payload in the table, which keeps the maintenance
 * window short. Freezing does not hide a change: the `xmin` column reads the raw xmin of frozen rows too
 * (and rows frozen before PostgreSQL 9.4 are older than any snapshot). Copying the table (a dump and
 * restore, pg_repack) gives every row a new xmin: they are all hashed, as before.
 */
import type { Queryable } from './connection';

/** The options.legacySnapshot a run row records as it is created. */
export const LEGACY_SNAPSHOT_SQL = `jsonb_build_object('xmin', pg_snapshot_xmin(pg_current_snapshot())::text)`;

/**
 * Transactions since a snapshot past which it is no longer trusted: `xmin` is 32 bits and age() compares
 * within 2^31, so a snapshot this old could misplace a row version (its rows are then hashed). A snapshot
 * ahead of the server's transactions was taken on another server (the run rows were restored here): not trusted either.
 */
const MAX_SNAPSHOT_AGE = 1_000_000_000;

/**
 * The runs whose snapshot may be trusted, as `trusted(run_id, since)` for a WITH clause; `since` is the
 * snapshot's xmin as a 32-bit xid, comparable with a row's `xmin` through age().
 */
export const TRUSTED_SNAPSHOTS_CTE = `trusted(run_id, since) AS MATERIALIZED (
  SELECT r.run_id, ((r.options->'legacySnapshot'->>'xmin')::numeric % 4294967296)::text::xid
    FROM plan_backfill_runs r
   WHERE r.options->'legacySnapshot'->>'xmin' IS NOT NULL
     AND pg_snapshot_xmax(pg_current_snapshot())::text::numeric - (r.options->'legacySnapshot'->>'xmin')::numeric
         BETWEEN 0 AND ${MAX_SNAPSHOT_AGE})`;

/**
 * True for an artifact row `a` whose version `v` was written by a run in `trusted` and which has not changed
 * since that run started: its payload need not be hashed. (A transaction in progress at the snapshot has an
 * xid at or after its xmin, so its writes count as changes.)
 */
export const UNCHANGED_SINCE_RUN_SQL = `EXISTS (SELECT 1 FROM trusted t WHERE t.run_id = v.backfill_run_id AND age(a.xmin) > age(t.since))`;

/** The runs whose snapshot is trusted now (the delta hashes no unchanged payload of their versions). */
export async function trustedSnapshotRuns(db: Queryable): Promise<string[]> {
  const res = await db.query<{ run_id: string }>(`WITH ${TRUSTED_SNAPSHOTS_CTE} SELECT run_id FROM trusted ORDER BY run_id`);
  return res.rows.map((r) => r.run_id);
}
