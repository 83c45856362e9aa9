/**
 * One backfill batch = one transaction: read the next artifacts after the run's committed cursor,
 * transform them, write the repository rows, record rejects, and advance the cursor and counters.
 * A retried or resumed batch therefore never double-writes and never skips.
 *
 * A write that PostgreSQL refuses because of the data (pg-errors.ts) is bisected inside that same
 * transaction, with savepoints, down to the versions at fault: those are recorded as `db_rejected`
 * and the rest of the batch is written, so one poison artifact costs a few extra statements, not
 * a retry loop over the whole batch.
 */
import pg from 'pg';
import { planBatch, BatchPlan, type PlannedError, type PlannedWrite } from '../transform/backfill-plan';
import { transformArtifact } from '../transform/legacy-transform';
import type { LegacyArtifact, TransformResult } from '../transform/types';
import { lockEnvironmentForBackfill } from './advisory-locks';
import { isFinalRunStatus } from '../model/backfill';
import { advanceRun, BackfillErrorSummary, BackfillRun, getRun, RunCounters, RunStatus, ZERO_COUNTERS } from './backfill-runs';
import { advanceShard, getShard, type BackfillShard } from './backfill-shards';
import { withClient } from './connection';
import { sourcesOfChanged } from './cutover-delta';
import { readReplayBatch, resolveReplayed, type ReplayBatch } from './error-replay';
import { readArtifactTexts } from './legacy-reader';
import { parseLegacyPayload } from './jsonb-text';
import { nativeSha256 } from './native-hash';
import { isDataError, isWriteRace, sqlstateOf } from './pg-errors';
import {
  deleteVersions,
  existingChecksums,
  renderChildren,
  versionKey,
  writeVersions,
  type RenderedChildren,
  type VersionToWrite,
  type WriteCounts,
} from './repository-writer';

export interface BatchOutcome {
  /** Why nothing (more) was done: the range or limit is exhausted, or the run is no longer running. */
  stop: null | 'done' | Exclude<RunStatus, 'running'>;
  run: BackfillRun;
  shard: BackfillShard;
  delta: RunCounters;
  rejectsByReason: Record<string, number>;
  /** Seconds spent in the write transaction (read to commit). */
  seconds: number;
  /** The size the batch's artifacts were read with (a read-ahead's may predate a batch size change). */
  requested: number;
}

/** Artifacts already read and transformed, ahead of the transaction that will use them. */
export interface Prefetched {
  afterId: number;
  /** The most artifacts it was asked for. */
  limit: number;
  artifacts: LegacyArtifact[];
  /** The versions without their child rows, which are in `rendered`. */
  results: TransformResult[];
  /** Each accepted artifact's child rows as COPY bytes, by artifact id. */
  rendered: Map<number, RenderedChildren>;
  /** A retry-errors batch: the error ids it covers, whose artifacts may since have been deleted (db/error-replay.ts). */
  replay?: Pick<ReplayBatch, 'end' | 'ids'>;
}

/** How many artifacts are transformed between two turns of the event loop (keeps an in-flight COPY fed). */
const TRANSFORM_SLICE = 50;

/**
 * Reads and transforms the batch after `afterId`, outside any transaction, to overlap with the previous
 * batch's write. Payloads are dropped once transformed, and child rows are kept as COPY bytes: only ids,
 * the versions' own fields and those bytes stay in memory. `retryOf`: a retry-errors run's batch reads only
 * the artifacts of that run's unresolved errors.
 */
export async function prefetchBatch(
  db: pg.Pool | pg.PoolClient,
  shard: Pick<BackfillShard, 'upToId'>,
  afterId: number,
  limit: number,
  run: Pick<BackfillRun, 'mode' | 'retryOf'>,
): Promise<Prefetched> {
  const { retryOf } = run;
  const replay = retryOf ? await readReplayBatch(db, retryOf, { afterId, upToId: shard.upToId, limit }) : null;
  // A delta run reads only artifacts whose payload changed since a version was written from it.
  const changedOnly = run.mode === 'delta';
  const texts = retryOf ? (replay?.artifacts ?? []) : await readArtifactTexts(db, { afterId, upToId: shard.upToId, limit, changedOnly });
  const artifacts: LegacyArtifact[] = [];
  const results: TransformResult[] = [];
  const rendered = new Map<number, RenderedChildren>();
  for (let i = 0; i < texts.length; i++) {
    // Parsed one at a time and dropped at once: a parsed payload dies young, in V8's new space.
    const { text, ...fields } = texts[i];
    texts[i].text = null;
    const artifact: LegacyArtifact = { ...fields, payload: parseLegacyPayload(text!) };
    const result = transformArtifact(artifact, nativeSha256);
    if (result.ok) {
      const compact = renderChildren(result.version);
      result.version = compact.version;
      rendered.set(artifact.id, compact.rendered);
    }
    results.push(result);
    artifact.payload = null;
    artifacts.push(artifact);
    if (i % TRANSFORM_SLICE === TRANSFORM_SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  return { afterId, limit, artifacts, results, rendered, ...(replay && { replay: { end: replay.end, ids: replay.ids } }) };
}

/** Reason recorded for a version PostgreSQL refused although the transform accepted it. */
const DB_REJECTED = 'db_rejected';

/** Enough of PostgreSQL's error fields to fix the data; its DETAIL echoes the row, so it is cut short. */
function dbRejected(write: PlannedWrite, err: unknown): PlannedError {
  const e = err as { message?: string; constraint?: string; table?: string; column?: string; detail?: string };
  const detail: Record<string, unknown> = { sqlstate: sqlstateOf(err) };
  for (const key of ['constraint', 'table', 'column'] as const) if (e[key]) detail[key] = e[key];
  if (e.detail) detail.pgDetail = e.detail.length > 200 ? `${e.detail.slice(0, 200)}…` : e.detail;
  return { artifact: write.artifact, reason: DB_REJECTED, message: `PostgreSQL refused this version: ${e.message}`, detail };
}

const NO_WRITES: WriteCounts = { plansCreated: 0, versions: 0, series: 0, kpis: 0, events: 0 };

function addCounts(a: WriteCounts, b: WriteCounts): WriteCounts {
  return {
    plansCreated: a.plansCreated + b.plansCreated,
    versions: a.versions + b.versions,
    series: a.series + b.series,
    kpis: a.kpis + b.kpis,
    events: a.events + b.events,
  };
}

/**
 * Writes `writes` (replaced versions deleted first) under a savepoint. On a data error the savepoint is
 * rolled back and each half is tried on its own, down to single versions, which land in `refused`;
 * any other error is rethrown and fails the batch (its transaction is then retried as a whole).
 */
async function writeBisecting(
  client: pg.PoolClient,
  writes: (PlannedWrite & VersionToWrite)[],
  backfillRunId: string,
  refused: PlannedError[],
): Promise<WriteCounts> {
  if (!writes.length) return NO_WRITES;
  await client.query('SAVEPOINT plandb_write');
  try {
    await deleteVersions(
      client,
      writes.filter((w) => w.replaces).map((w) => w.version),
    );
    const counts = await writeVersions(client, writes, backfillRunId);
    await client.query('RELEASE SAVEPOINT plandb_write');
    return counts;
  } catch (err) {
    if (!isDataError(err) || isWriteRace(err)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT plandb_write');
    await client.query('RELEASE SAVEPOINT plandb_write');
    if (writes.length === 1) {
      refused.push(dbRejected(writes[0], err));
      return NO_WRITES;
    }
    const half = Math.ceil(writes.length / 2);
    const first = await writeBisecting(client, writes.slice(0, half), backfillRunId, refused);
    return addCounts(first, await writeBisecting(client, writes.slice(half), backfillRunId, refused));
  }
}

/** Reject details may quote legacy text; U+0000 in it would make the error row itself unstorable. */
const storableJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? v.replaceAll('\u0000', '\uFFFD') : v));

/** Attempts of one batch that lose a race with another shard (isWriteRace) before the error is thrown. */
const RACE_ATTEMPTS = 5;

/**
 * Runs one batch of shard `shard` of `runId`. `prefetched` is used only if it starts exactly at the shard's
 * committed cursor (otherwise another attempt moved it and the batch is read again inside the transaction).
 * A batch that loses a race with another shard's is redone at once, on the same read.
 */
export async function runBatch(
  pool: pg.Pool,
  args: { runId: string; shard: number; environment: string; batchSize: number; prefetched?: Prefetched | null },
): Promise<BatchOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runBatchOnce(pool, args);
    } catch (err) {
      if (!isWriteRace(err) || attempt >= RACE_ATTEMPTS) throw err;
    }
  }
}

async function runBatchOnce(
  pool: pg.Pool,
  args: { runId: string; shard: number; environment: string; batchSize: number; prefetched?: Prefetched | null },
): Promise<BatchOutcome> {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  return withClient(pool, async (client) => {
    const nothing = async (stop: BatchOutcome['stop'], run: BackfillRun, shard: BackfillShard): Promise<BatchOutcome> => {
      await client.query('COMMIT');
      return { stop, run, shard, delta: { ...ZERO_COUNTERS }, rejectsByReason: {}, seconds: seconds(), requested: args.batchSize };
    };
    try {
      await client.query('BEGIN');
      // Shared: shards write at once; a trim or restore (exclusive) waits for every batch in flight.
      await lockEnvironmentForBackfill(client, args.environment);
      // The shard row lock serializes attempts of the same shard (a retry while a lost attempt still runs).
      let shard = await getShard(client, args.runId, args.shard, { forUpdate: true });
      if (!shard) throw new Error(`backfill run ${args.runId} has no shard ${args.shard}`);
      const run = await getRun(client, args.runId);
      if (!run) throw new Error(`backfill run ${args.runId} does not exist`);
      if (run.status !== 'running') return await nothing(run.status, run, shard);
      if (shard.done) return await nothing('done', run, shard);
      const batch: Prefetched =
        args.prefetched && args.prefetched.afterId === shard.cursor && args.prefetched.artifacts.length <= args.batchSize
          ? args.prefetched
          : shard.cursor >= shard.upToId
            ? { afterId: shard.cursor, limit: args.batchSize, artifacts: [], results: [], rendered: new Map() }
            : await prefetchBatch(client, shard, shard.cursor, args.batchSize, run);
      if (!batch.artifacts.length && !batch.replay) {
        // The shard's range is used up: mark it so the run's cursor can pass it.
        shard = await advanceShard(client, run.runId, shard.shard, { ...NO_ADVANCE, cursor: shard.upToId, done: true });
        const after = await advanceRun(client, run.runId, { ...ZERO_COUNTERS }, []);
        return await nothing('done', after, shard);
      }

      const valid = batch.artifacts.filter((_, i) => batch.results[i].ok);
      const existing = await existingChecksums(
        client,
        valid.map((a) => ({ planId: a.planId, version: a.version })),
      );
      const sources = run.mode === 'delta' ? await sourcesOfChanged(client, batch.artifacts, batch.results, existing) : undefined;
      const plan = planBatch(batch.artifacts, batch.results, existing, run.mode, versionKey, sources);

      // A retry batch counts the errors it covers, so the run reads its whole total even if artifacts were deleted.
      const delta: RunCounters = {
        ...ZERO_COUNTERS,
        artifactsRead: batch.replay?.ids ?? batch.artifacts.length,
        versionsWritten: plan.writes.length,
      };
      delta.versionsSkipped = plan.skipped;
      const refused: PlannedError[] = [];
      if (run.mode === 'dry-run') {
        for (const w of plan.writes) {
          const rows = batch.rendered.get(w.artifact.id);
          delta.seriesWritten += rows?.series.count ?? 0;
          delta.kpisWritten += rows?.kpis.count ?? 0;
          delta.eventsWritten += rows?.events.count ?? 0;
        }
        delta.plansWritten = await newPlansFirstSeenHere(client, run, shard.cursor, plan);
      } else {
        const writes = plan.writes.map((w) => ({ ...w, rendered: batch.rendered.get(w.artifact.id) }));
        const written = await writeBisecting(client, writes, run.runId, refused);
        delta.versionsWritten = written.versions;
        delta.plansWritten = written.plansCreated;
        delta.seriesWritten = written.series;
        delta.kpisWritten = written.kpis;
        delta.eventsWritten = written.events;
      }
      // A version PostgreSQL refused counts as rejected, like one the transform refused.
      delta.versionsRejected = plan.rejected.length + refused.length;
      delta.versionsConflicted = plan.conflicts.length;
      delta.errorsCount = delta.versionsRejected + delta.versionsConflicted;

      const errors = [...plan.rejected, ...refused, ...plan.conflicts];
      if (errors.length) {
        await client.query(
          `INSERT INTO plan_backfill_errors (run_id, artifact_id, plan_id, version, reason, detail)
         SELECT $1, * FROM unnest($2::int8[], $3::text[], $4::int4[], $5::text[], $6::jsonb[])`,
          [
            run.runId,
            errors.map((e) => e.artifact.id),
            errors.map((e) => e.artifact.planId),
            errors.map((e) => e.artifact.version),
            errors.map((e) => e.reason),
            errors.map((e) => storableJson({ message: e.message, ...e.detail })),
          ],
        );
      }
      const cursor = batch.replay?.end ?? batch.artifacts[batch.artifacts.length - 1].id;
      if (run.retryOf) {
        // The earlier run's errors this batch settled, in the same transaction as the new errors and the checkpoint.
        await resolveReplayed(client, {
          ofRunId: run.retryOf,
          byRunId: run.runId,
          afterId: shard.cursor,
          end: cursor,
          stillFailing: errors.map((e) => e.artifact.id),
        });
      }
      const summaries: BackfillErrorSummary[] = errors.map((e) => ({
        artifactId: e.artifact.id,
        planId: e.artifact.planId,
        version: e.artifact.version,
        reason: e.reason,
        message: e.message,
      }));
      shard = await advanceShard(client, run.runId, shard.shard, {
        cursor,
        artifactsRead: delta.artifactsRead,
        versionsWritten: delta.versionsWritten,
        rowsWritten: delta.versionsWritten + delta.seriesWritten + delta.kpisWritten + delta.eventsWritten,
        errorsCount: delta.errorsCount,
        done: cursor >= shard.upToId,
      });
      const after = await advanceRun(client, run.runId, delta, summaries);
      if (isFinalRunStatus(after.status)) {
        // Closed (cancelled, failed) while this batch ran: nothing is written after a close.
        await client.query('ROLLBACK');
        return {
          stop: after.status,
          run: after,
          shard,
          delta: { ...ZERO_COUNTERS },
          rejectsByReason: {},
          seconds: seconds(),
          requested: batch.limit,
        };
      }
      await client.query('COMMIT');

      const rejectsByReason: Record<string, number> = {};
      for (const e of errors) rejectsByReason[e.reason] = (rejectsByReason[e.reason] ?? 0) + 1;
      return { stop: null, run: after, shard, delta, rejectsByReason, seconds: seconds(), requested: batch.limit };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

const NO_ADVANCE = { artifactsRead: 0, versionsWritten: 0, rowsWritten: 0, errorsCount: 0 };

/**
 * Dry-run plan count: plans not in the repository whose first artifact of this run's range is in this
 * batch, at or after the shard's cursor (counted once per run, however the plan's versions are spread over batches
 * and shards).
 */
async function newPlansFirstSeenHere(client: pg.PoolClient, run: BackfillRun, shardCursor: number, plan: BatchPlan): Promise<number> {
  const ids = [...new Set(plan.writes.map((w) => w.version.planId))];
  if (!ids.length) return 0;
  const res = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (
        SELECT a.plan_id, min(a.id) AS first_id FROM plan_artifacts a
         WHERE a.plan_id = ANY($1::text[]) AND a.id > $2 AND a.id <= $3 GROUP BY a.plan_id) f
      WHERE f.first_id > $4 AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.plan_id = f.plan_id)`,
    [ids, (run.options.startCursor as number | undefined) ?? 0, run.upToId, shardCursor],
  );
  return res.rows[0].n;
}
