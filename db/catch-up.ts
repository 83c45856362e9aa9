/**
 * Catch-up passes (model/catch-up.ts) in the run row: a pass extends the run's range to the legacy table's
 * current end with new shards, in one transaction with the run row, so the run's counters stay the sums
 * of its shards and a retried call finds the pass it started.
 */
import type pg from 'pg';
import { isFinalRunStatus, type BackfillRun } from '../model/backfill';
import { catchUpStop, EMPTY_CATCH_UP, type CatchUpEnd, type CatchUpPass, type CatchUpPolicy, type CatchUpState } from '../model/catch-up';
import { getRun } from './backfill-runs';
import { createShards, splitRange } from './backfill-shards';
import { Queryable, withClient } from './connection';

/** Longest wait for the application's open writes below a range's end (then the range is taken as it is). */
export const WRITERS_WAIT_MS = 30_000;

/**
 * Waits until every transaction that holds `plan_artifacts` for writing now has ended (as CREATE INDEX
 * CONCURRENTLY waits for lockers), so that a range end read just before covers every id that will ever
 * commit below it: ids come from a sequence, and a writer that took one may commit after a later one did.
 * Returns how many writers were still open when the wait gave up (0: all ended).
 */
export async function waitForLegacyWriters(db: Queryable, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<number> {
  const holders = await db.query<{ vxid: string }>(
    `SELECT DISTINCT virtualtransaction AS vxid FROM pg_locks
      WHERE locktype = 'relation' AND relation = 'public.plan_artifacts'::regclass AND granted AND pid <> pg_backend_pid()
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')`,
  );
  let open = holders.rows.map((r) => r.vxid);
  const deadline = Date.now() + (opts.timeoutMs ?? WRITERS_WAIT_MS);
  while (open.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 50));
    // A transaction holds the lock on its own virtual xid until it ends.
    const res = await db.query<{ vxid: string }>(
      `SELECT virtualxid AS vxid FROM pg_locks WHERE locktype = 'virtualxid' AND virtualxid = ANY($1::text[])`,
      [open],
    );
    open = res.rows.map((r) => r.vxid);
  }
  return open.length;
}

export interface CatchUpStep {
  run: BackfillRun;
  /** The pass now running (started by this call or by an earlier attempt of it); null when none starts. */
  started: CatchUpPass | null;
  /** Why no pass starts. */
  ended: CatchUpEnd | null;
  /** This call changed the run row (false for a retry of one that did). */
  changed: boolean;
}

/** The sums of a pass's shards, now that they are all done. */
async function closePass(db: Queryable, runId: string, p: CatchUpPass, now: Date): Promise<CatchUpPass> {
  const res = await db.query<{ read: number; rows: number; errors: number }>(
    `SELECT coalesce(sum(artifacts_read), 0)::int8 AS read, coalesce(sum(rows_written), 0)::int8 AS rows,
            coalesce(sum(errors_count), 0)::int8 AS errors
       FROM plan_backfill_shards WHERE run_id = $1 AND pass = $2`,
    [runId, p.pass],
  );
  const r = res.rows[0];
  const seconds = Math.max((now.getTime() - Date.parse(p.startedAt)) / 1000, 0);
  return { ...p, finishedAt: now.toISOString(), seconds, artifactsRead: r.read, rowsWritten: r.rows, errorsCount: r.errors };
}

async function saveState(db: Queryable, runId: string, state: CatchUpState, extend?: { pass: number; upToId: number; artifacts: number }) {
  await db.query(
    `UPDATE plan_backfill_runs SET catch_up = $2::jsonb, updated_at = now(),
            catch_up_pass = coalesce($3, catch_up_pass), up_to_id = coalesce($4, up_to_id), artifacts_total = artifacts_total + $5
      WHERE run_id = $1`,
    [runId, JSON.stringify(state), extend?.pass ?? null, extend?.upToId ?? null, extend?.artifacts ?? 0],
  );
}

/**
 * Called when every shard of the run is done: closes the pass that ran (its sums), then either records why
 * no further pass runs (catchUpStop, or the table's end has not moved) or starts pass `pass`: the range
 * (run end, max(id)] split into up to `shardsPerPass` new shards, the run's end and total moved. `pass` is the
 * number the caller expects to start, so a retry of a call that committed returns what it did.
 */
export async function beginCatchUpPass(
  pool: pg.Pool,
  args: { runId: string; pass: number; policy: CatchUpPolicy; shardsPerPass: number; writersWaitMs?: number },
): Promise<CatchUpStep> {
  // The table's end first, then its open writers' end, outside the transaction that holds the run row.
  const tableEnd = (await pool.query<{ max: number | null }>('SELECT max(id) AS max FROM plan_artifacts')).rows[0].max;
  const unsettled = await waitForLegacyWriters(pool, { timeoutMs: args.writersWaitMs });
  return withClient(pool, async (client) => {
    await client.query('BEGIN');
    try {
      const run = await getRun(client, args.runId, { forUpdate: true });
      if (!run) throw new Error(`backfill run ${args.runId} does not exist`);
      const state = run.catchUp ?? EMPTY_CATCH_UP;
      const done = async (step: Omit<CatchUpStep, 'run' | 'changed'>, changed = false): Promise<CatchUpStep> => {
        const after = (await getRun(client, args.runId))!;
        await client.query('COMMIT');
        return { run: after, ...step, changed };
      };
      // A retry of a call that committed.
      if ((run.catchUpPass ?? 0) >= args.pass)
        return await done({ started: state.passes.find((p) => p.pass === args.pass) ?? null, ended: null });
      if (state.ended) return await done({ started: null, ended: state.ended });
      const now = (await client.query<{ now: Date }>('SELECT now() AS now')).rows[0].now;
      const end = (reason: CatchUpEnd['reason'], message: string): CatchUpEnd => ({ reason, message, at: now.toISOString() });
      // Closed meanwhile (an operator, the reconciler): nothing to record, the run is no longer ours.
      if (isFinalRunStatus(run.status)) return await done({ started: null, ended: end('run-closed', `the run is ${run.status}`) });
      const passes = [...state.passes];
      const open = passes.at(-1);
      if (open && open.finishedAt === null) passes[passes.length - 1] = await closePass(client, run.runId, open, now);
      const stop = catchUpStop(args.policy, passes);
      const max = stop ? null : tableEnd;
      if (stop || max === null || max <= run.upToId) {
        const ended = stop
          ? end(stop.reason, stop.message)
          : end(
              'caught-up',
              `no artifact after id ${run.upToId}: the application appended nothing during ${passes.length ? `pass ${passes.length}` : 'the run'}`,
            );
        await saveState(client, run.runId, { passes, ended });
        return await done({ started: null, ended }, true);
      }
      const parts = await splitRange(client, run.upToId, max, args.shardsPerPass);
      const first = await client.query<{ next: number }>(
        `SELECT coalesce(max(shard) + 1, 0)::int AS next FROM plan_backfill_shards WHERE run_id = $1`,
        [run.runId],
      );
      const firstShard = first.rows[0].next;
      await createShards(client, run.runId, parts, { firstShard, pass: args.pass });
      const artifacts = parts.reduce((n, p) => n + p.artifacts, 0);
      const started: CatchUpPass = {
        pass: args.pass,
        afterId: run.upToId,
        upToId: max,
        artifacts,
        firstShard,
        shards: parts.length,
        startedAt: now.toISOString(),
        finishedAt: null,
        seconds: null,
        artifactsRead: null,
        rowsWritten: null,
        errorsCount: null,
        ...(unsettled > 0 && { unsettledWriters: unsettled }),
      };
      await saveState(client, run.runId, { passes: [...passes, started], ended: null }, { pass: args.pass, upToId: max, artifacts });
      return await done({ started, ended: null }, true);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}
