/**
 * `plan_backfill_shards`: a run's range split into parts, each with its own checkpoint, so several chunk
 * activities advance one run at once. Each batch advances its shard row and adds its counters to the run
 * row in one transaction (db/backfill-batch.ts), so the run row stays the exact sum.
 */
import type { BackfillRun, BackfillShard } from '../model/backfill';
import { createRun, type NewRun } from './backfill-runs';
import { Queryable, withClient } from './connection';
import type pg from 'pg';

export type { BackfillShard } from '../model/backfill';

const COLUMNS = `shard, after_id, up_to_id, cursor, artifacts_total, artifacts_read, versions_written, rows_written,
  errors_count, batches, done`;

interface ShardRow {
  shard: number;
  after_id: number;
  up_to_id: number;
  cursor: number;
  artifacts_total: number;
  artifacts_read: number;
  versions_written: number;
  rows_written: number;
  errors_count: number;
  batches: number;
  done: boolean;
}

function fromRow(r: ShardRow): BackfillShard {
  return {
    shard: r.shard,
    afterId: r.after_id,
    upToId: r.up_to_id,
    cursor: r.cursor,
    artifactsTotal: r.artifacts_total,
    artifactsRead: r.artifacts_read,
    versionsWritten: r.versions_written,
    rowsWritten: r.rows_written,
    errorsCount: r.errors_count,
    batches: r.batches,
    done: r.done,
  };
}

export interface ShardRange {
  afterId: number;
  upToId: number;
  artifacts: number;
}

/**
 * Splits the legacy range (afterId, upToId] into up to `n` parts of about equal artifact counts (ids may be
 * sparse, so by count, not by id arithmetic). Fewer parts when there are fewer artifacts; one (empty) part
 * for an empty range. The parts cover the range exactly: each starts where the previous ends.
 */
export async function splitRange(db: Queryable, afterId: number, upToId: number, n: number): Promise<ShardRange[]> {
  const res = await db.query<{ up_to: number; artifacts: number }>(
    `SELECT max(id) AS up_to, count(*)::int8 AS artifacts
       FROM (SELECT id, ntile($3::int) OVER (ORDER BY id) AS part FROM plan_artifacts WHERE id > $1 AND id <= $2) t
      GROUP BY part ORDER BY part`,
    [afterId, upToId, n],
  );
  if (!res.rows.length) return [{ afterId, upToId, artifacts: 0 }];
  const parts: ShardRange[] = [];
  let after = afterId;
  res.rows.forEach((r, i) => {
    // The last part ends at the run's end, so artifacts past the last id seen (none yet) still belong to it.
    const end = i === res.rows.length - 1 ? upToId : r.up_to;
    parts.push({ afterId: after, upToId: end, artifacts: r.artifacts });
    after = end;
  });
  return parts;
}

/** Shards numbered from `firstShard`; a catch-up pass adds its own after the run's existing ones. */
export async function createShards(
  db: Queryable,
  runId: string,
  parts: ShardRange[],
  opts: { firstShard?: number; pass?: number } = {},
): Promise<void> {
  await db.query(
    `INSERT INTO plan_backfill_shards (run_id, shard, after_id, up_to_id, cursor, artifacts_total, pass)
     SELECT $1, $5::int + s - 1, a, u, a, n, $6 FROM unnest($2::int8[], $3::int8[], $4::int8[]) WITH ORDINALITY AS t(a, u, n, s)
     ON CONFLICT DO NOTHING`,
    [runId, parts.map((p) => p.afterId), parts.map((p) => p.upToId), parts.map((p) => p.artifacts), opts.firstShard ?? 0, opts.pass ?? 0],
  );
}

/**
 * A run started before shards existed has none: it becomes one shard that carries its checkpoint and counts
 * on. Its limit becomes the shard's end, as new runs' limits do (the id of the limit-th artifact).
 */
export async function adoptUnshardedRun(db: Queryable, run: BackfillRun): Promise<void> {
  const startCursor = typeof run.options.startCursor === 'number' ? run.options.startCursor : 0;
  await db.query(
    `INSERT INTO plan_backfill_shards (run_id, shard, after_id, up_to_id, cursor, artifacts_total, artifacts_read, versions_written, errors_count)
     SELECT $1, 0, $2, coalesce(
              (SELECT id FROM plan_artifacts WHERE $5::int8 IS NOT NULL AND id > $2 AND id <= $3 ORDER BY id OFFSET $5::int8 - 1 LIMIT 1), $3),
            $4, $6, $7, $8, $9
     WHERE NOT EXISTS (SELECT 1 FROM plan_backfill_shards WHERE run_id = $1)`,
    [
      run.runId,
      startCursor,
      run.upToId,
      run.cursor,
      run.limit,
      run.artifactsTotal,
      run.artifactsRead,
      run.versionsWritten,
      run.errorsCount,
    ],
  );
}

export async function getShard(
  db: Queryable,
  runId: string,
  shard: number,
  opts: { forUpdate?: boolean } = {},
): Promise<BackfillShard | null> {
  const res = await db.query<ShardRow>(
    `SELECT ${COLUMNS} FROM plan_backfill_shards WHERE run_id = $1 AND shard = $2${opts.forUpdate ? ' FOR UPDATE' : ''}`,
    [runId, shard],
  );
  return res.rows[0] ? fromRow(res.rows[0]) : null;
}

export async function listShards(db: Queryable, runId: string): Promise<BackfillShard[]> {
  const res = await db.query<ShardRow>(`SELECT ${COLUMNS} FROM plan_backfill_shards WHERE run_id = $1 ORDER BY shard`, [runId]);
  return res.rows.map(fromRow);
}

export interface ShardAdvance {
  cursor: number;
  artifactsRead: number;
  versionsWritten: number;
  rowsWritten: number;
  errorsCount: number;
  /** The batch reached the shard's end, or found nothing left. */
  done: boolean;
}

/** Moves a shard's checkpoint; inside the batch's transaction, before the run row's sums (advanceRun). */
export async function advanceShard(db: Queryable, runId: string, shard: number, a: ShardAdvance): Promise<BackfillShard> {
  const res = await db.query<ShardRow>(
    `UPDATE plan_backfill_shards SET cursor = $3, artifacts_read = artifacts_read + $4, versions_written = versions_written + $5,
            rows_written = rows_written + $6, errors_count = errors_count + $7,
            batches = batches + CASE WHEN $4 > 0 THEN 1 ELSE 0 END, done = $8, updated_at = now()
      WHERE run_id = $1 AND shard = $2 RETURNING ${COLUMNS}`,
    [runId, shard, a.cursor, a.artifactsRead, a.versionsWritten, a.rowsWritten, a.errorsCount, a.done],
  );
  return fromRow(res.rows[0]);
}

/**
 * Creates the run row and its shards in one transaction (a retried start finds both or neither): the range
 * (run.cursor, run.upToId] split into up to `shards` parts of about equal artifact counts, or the parts given.
 */
export async function createShardedRun(pool: pg.Pool, run: NewRun, shards: number | ShardRange[]): Promise<BackfillRun> {
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const created = await createRun(client, run);
      const parts = typeof shards === 'number' ? await splitRange(client, run.cursor, run.upToId, shards) : shards;
      await createShards(client, run.runId, parts);
      await client.query('COMMIT');
      return created;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}
