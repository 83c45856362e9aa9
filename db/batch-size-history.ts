/**
 * The batch sizes a backfill run chose (model/batch-tuner.ts), kept in its run row's options: `batchSizes`
 * holds the first and the last HISTORY_KEEP changes, `batchSizeChanges` counts them all. A long run tunes
 * thousands of times; the row is read by every progress report and status, so it must stay small.
 */
import type { BatchSizeChange } from '../model/batch-tuner';
import { Queryable } from './connection';

export type { BatchSizeChange } from '../model/batch-tuner';

/** Changes kept at each end of the history. */
export const HISTORY_KEEP = 50;

export interface BatchSizeHistory {
  /** Oldest first: the first HISTORY_KEEP changes, then the last HISTORY_KEEP. */
  changes: BatchSizeChange[];
  /** All changes recorded, including those dropped from the middle. */
  total: number;
}

/**
 * Appends `change` to the run's history in one UPDATE whose new value is computed from the row itself, so
 * concurrent shards lose none of each other's appends: the row lock orders them, and READ COMMITTED
 * re-evaluates the SET on the newer row. Throws if the run does not exist.
 */
export async function recordBatchSizeChange(db: Queryable, runId: string, change: BatchSizeChange): Promise<void> {
  const res = await db.query(
    `UPDATE plan_backfill_runs SET options = options || (
        SELECT jsonb_build_object(
                 'batchSizes', (SELECT jsonb_agg(e ORDER BY i) FROM jsonb_array_elements(h.appended) WITH ORDINALITY AS t(e, i)
                                 WHERE i <= $3 OR i > jsonb_array_length(h.appended) - $3),
                 'batchSizeChanges', coalesce((options->>'batchSizeChanges')::int, 0) + 1)
          FROM (SELECT coalesce(options->'batchSizes', '[]'::jsonb) || jsonb_build_array($2::jsonb) AS appended) h)
      WHERE run_id = $1`,
    [runId, JSON.stringify(change), HISTORY_KEEP],
  );
  if (res.rowCount === 0) throw new Error(`backfill run ${runId} does not exist`);
}

/** The run's recorded batch sizes; empty for a run that recorded none (or does not exist). */
export async function batchSizeHistory(db: Queryable, runId: string): Promise<BatchSizeHistory> {
  const res = await db.query<{ changes: BatchSizeChange[] | null; total: number | null }>(
    `SELECT options->'batchSizes' AS changes, (options->>'batchSizeChanges')::int AS total FROM plan_backfill_runs WHERE run_id = $1`,
    [runId],
  );
  const row = res.rows[0];
  return { changes: row?.changes ?? [], total: row?.total ?? 0 };
}
