/**
 * Streamed verification of the PlanRepository against `plan_artifacts` (SPEC §6 verify): checksum of the
 * normalized legacy version = checksum of the version read back = the checksum the backfill stored, and
 * table counts equal what the transform expects.
 *
 * One statement per batch walks the artifacts by id (keyset) and joins what the repository holds for each
 * key, children included for the sampled versions; the next batch is already in flight while this one is
 * transformed and hashed, so PostgreSQL and this process work at the same time. Memory stays flat: two
 * batches per session, the listed findings and the set of plan ids.
 *
 * With `parallel` N > 1 the id range is cut into N parts of (nearly) equal artifact counts, each walked by
 * its own session; the counts and the anti-joins then go to whichever session is free first. Every session
 * runs REPEATABLE READ READ ONLY in the same snapshot (the first exports it, the others import it, as
 * pg_dump -j does), so the walk, the counts and the anti-join see one state of the database, and the parts'
 * tallies merged in id order give exactly the report of one serial walk.
 */
import { nativeSha256 } from './native-hash';
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { LegacyArtifact } from '../transform/types';
import {
  LISTED_FINDINGS,
  VerificationTally,
  type Listed,
  type PlanRowInconsistency,
  type RepositorySide,
  type VerificationReport,
  type VerifySample,
} from '../transform/verification-report';
import { withClient } from './connection';
import { legacyPayloadSql, parseLegacyPayload, type LegacyPayloadColumns } from './jsonb-text';
import { childrenSql, toRepositoryRows, type KpiTuple, type SeriesTuple } from './repository-reader';
import { DEFAULT_VERIFY_PARALLEL, MAX_VERIFY_PARALLEL } from '../model/verify';
import { REPOSITORY_TABLES, type RepositoryCounts } from '../model/tables';
import { repositoryTableCount } from './repository-stats';
import { tableExists } from './server-info';

const DEFAULT_VERIFY_BATCH = 500;

export interface VerificationProgress {
  /** Last artifact id verified in each part of the id range, in id order (the part's lower bound before its first batch). */
  cursors: number[];
  /** Sums over the parts. */
  artifactsRead: number;
  versionsChecked: number;
  mismatches: number;
}

export interface VerifyRepositoryOptions {
  /** 'all' (default) or the fraction of versions read back and re-checksummed. */
  sample?: VerifySample;
  /** Artifacts per batch. */
  batchSize?: number;
  /** Sessions walking parts of the id range at once (default DEFAULT_VERIFY_PARALLEL); the pool must hold that many connections. */
  parallel?: number;
  /** Awaited after each batch of any part: an activity heartbeats here, and may throw to stop every part. */
  onProgress?: (progress: VerificationProgress) => void | Promise<void>;
  /**
   * Verify artifacts up to this id only (the online cut-over's backfilled range, or its pre-delta's with
   * `only`: the application appends meanwhile, and the next delta covers what follows).
   */
  upToId?: number;
  /** Verify only these artifacts (the online cut-over's delta); the table-wide checks then cover their keys only. */
  only?: VerifyScope;
  /** Artifacts a backfill recorded as errors: a missing version of one is counted as fixed since (`fixedSinceRejected`). */
  rejectedEarlier?: ReadonlySet<number>;
}

/** Artifacts with id > `afterId`, and the listed ids at or below it. */
export interface VerifyScope {
  afterId: number;
  artifactIds: number[];
}

const BUCKETS = 2 ** 32;

/**
 * The sample is a fixed set of versions: those whose key hashes below `fraction` of the 32-bit range
 * (first 8 hex digits of md5("<plan_id>/<version>")), so reruns and a restored copy check the same ones.
 * This SQL expression and `sampleBucket` must agree.
 */
const BUCKET_SQL = (planId: string, version: string) => `('x' || substr(md5(${planId} || '/' || ${version}), 1, 8))::bit(32)::int8`;

export function sampleBucket(planId: string, version: number): number {
  return parseInt(createHash('md5').update(`${planId}/${version}`).digest('hex').slice(0, 8), 16);
}

/** Buckets below this are sampled; null samples everything. */
export function sampleThreshold(sample: VerifySample): number | null {
  if (sample === 'all') return null;
  if (!(sample > 0 && sample <= 1)) throw new RangeError(`sample must be "all" or a fraction in (0, 1], got ${sample}`);
  return sample === 1 ? null : Math.floor(sample * BUCKETS);
}

export function isSampled(planId: string, version: number, sample: VerifySample): boolean {
  const threshold = sampleThreshold(sample);
  return threshold === null || sampleBucket(planId, version) < threshold;
}

interface BatchRow extends LegacyPayloadColumns {
  id: number;
  plan_id: string;
  version: number;
  /** jsonb text, like `events` (parsed losslessly). */
  summary: string | null;
  name: string | null;
  status: string | null;
  run_id: string | null;
  /** Null when plan_versions has no row for the key. */
  source_checksum: string | null;
  /** Null unless the version is present and sampled. */
  kpis: KpiTuple[] | null;
  series: SeriesTuple[] | null;
  events: string | null;
}

const children = childrenSql('a.plan_id', 'a.version');
// The LIMIT sits in the CTE so the child subqueries run for this batch's rows only.
const BATCH_SQL = `
WITH a AS (SELECT id, plan_id, version, payload FROM plan_artifacts
            WHERE id > $1 AND id <= $4 AND ($5::int8[] IS NULL OR id = ANY($5::int8[])) ORDER BY id LIMIT $2)
SELECT a.id, a.plan_id, a.version, ${legacyPayloadSql('a')}, v.name, v.status, v.run_id, v.summary::text AS summary, v.source_checksum,
       CASE WHEN v.sampled THEN ${children.kpis} END AS kpis,
       CASE WHEN v.sampled THEN ${children.series} END AS series,
       CASE WHEN v.sampled THEN ${children.events} END AS events
  FROM a LEFT JOIN LATERAL (
    SELECT pv.name, pv.status, pv.run_id, pv.summary, pv.source_checksum,
           ($3::int8 IS NULL OR ${BUCKET_SQL('a.plan_id', 'a.version::text')} < $3) AS sampled
      FROM plan_versions pv WHERE pv.plan_id = a.plan_id AND pv.version = a.version) v ON true
 ORDER BY a.id`;

function artifactOf(r: BatchRow): LegacyArtifact {
  // createdAt is not part of a version's content; verification never reads it.
  return { id: r.id, planId: r.plan_id, version: r.version, payload: parseLegacyPayload(r), createdAt: new Date(0) };
}

function repositorySide(r: BatchRow): RepositorySide | null {
  if (r.source_checksum === null) return null;
  const { kpis, series, events } = r;
  const rows =
    kpis && series && events
      ? toRepositoryRows({ ...r, summary: r.summary ?? '{}', source_checksum: r.source_checksum, kpis, series, events })
      : null;
  return { storedChecksum: r.source_checksum, rows };
}

/** Lets the socket drain (so PostgreSQL keeps producing the next batch) during a long hashing loop. */
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function versionsWithoutArtifact(db: pg.PoolClient): Promise<Listed<{ planId: string; version: number }>> {
  const res = await db.query<{ plan_id: string; version: number; n: number }>(
    `SELECT v.plan_id, v.version, count(*) OVER ()::int8 AS n FROM plan_versions v
      WHERE NOT EXISTS (SELECT 1 FROM plan_artifacts a WHERE a.plan_id = v.plan_id AND a.version = v.version)
      ORDER BY v.plan_id, v.version LIMIT $1`,
    [LISTED_FINDINGS],
  );
  return { count: res.rows[0]?.n ?? 0, first: res.rows.map((r) => ({ planId: r.plan_id, version: r.version })) };
}

/** `plans` rows (of `planIds`, or all) whose latest_version, name or status differ from the newest version held for the plan. */
async function inconsistentPlans(db: pg.PoolClient, planIds: string[] | null = null): Promise<Listed<PlanRowInconsistency>> {
  const res = await db.query<{
    plan_id: string;
    name: string | null;
    status: string | null;
    latest_version: number;
    newest: number | null;
    newest_name: string | null;
    newest_status: string | null;
    n: number;
  }>(
    `SELECT p.plan_id, p.name, p.status, p.latest_version, lv.version AS newest, lv.name AS newest_name, lv.status AS newest_status,
            count(*) OVER ()::int8 AS n
       FROM plans p
       LEFT JOIN LATERAL (SELECT version, name, status FROM plan_versions v WHERE v.plan_id = p.plan_id ORDER BY version DESC LIMIT 1) lv ON true
      WHERE ($2::text[] IS NULL OR p.plan_id = ANY($2::text[]))
        AND (lv.version IS DISTINCT FROM p.latest_version OR lv.name IS DISTINCT FROM p.name OR lv.status IS DISTINCT FROM p.status)
      ORDER BY p.plan_id LIMIT $1`,
    [LISTED_FINDINGS, planIds],
  );
  return {
    count: res.rows[0]?.n ?? 0,
    first: res.rows.map((r) => ({
      planId: r.plan_id,
      plan: { name: r.name, status: r.status, latestVersion: r.latest_version },
      newestVersion: r.newest === null ? null : { version: r.newest, name: r.newest_name, status: r.newest_status },
    })),
  };
}

/** Artifact ids (after, upTo] of one part of the walk; with `ids`, only those of them. */
interface IdPart {
  after: number;
  upTo: number;
  ids?: number[];
}

/**
 * `parts` consecutive id ranges of (nearly) equal artifact counts, covering every id; fewer when there are
 * fewer artifacts. Bounds are the ids at ranks ⌊k·count/parts⌋: one count and one index-order pass.
 */
async function idParts(client: pg.PoolClient, parts: number, upTo: number): Promise<IdPart[]> {
  const whole: IdPart = { after: 0, upTo };
  if (parts === 1) return [whole];
  const total = (await client.query<{ n: number }>('SELECT count(*)::int8 AS n FROM plan_artifacts WHERE id <= $1', [upTo])).rows[0].n;
  const ranks = [...new Set(Array.from({ length: parts - 1 }, (_, k) => Math.floor(((k + 1) * total) / parts)))].filter((r) => r > 0);
  const res = await client.query<{ id: number }>(
    `SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS rank FROM plan_artifacts WHERE id <= $2) t WHERE rank = ANY($1::int8[]) ORDER BY id`,
    [ranks, upTo],
  );
  const bounds = res.rows.map((r) => r.id);
  return [...bounds, whole.upTo].map((upTo, i) => ({ after: i === 0 ? whole.after : bounds[i - 1], upTo }));
}

async function walk(
  client: pg.PoolClient,
  part: IdPart,
  tally: VerificationTally,
  threshold: number | null,
  opts: {
    batchSize: number;
    onBatch: (cursor: number) => Promise<void>;
    stopped: () => boolean;
    onRows?: (rows: BatchRow[]) => void;
  },
): Promise<void> {
  const { batchSize } = opts;
  const fetchAfter = (cursor: number) =>
    client.query<BatchRow>(BATCH_SQL, [cursor, batchSize, threshold, part.upTo, part.ids ?? null]).then((res) => res.rows);
  let next: Promise<BatchRow[]> | null = fetchAfter(part.after);
  try {
    while (next) {
      const batch: BatchRow[] = await next;
      next = null;
      // The part is done; or another one failed, and its error is the result: nothing more to read here.
      if (!batch.length || opts.stopped()) break;
      const cursor = batch[batch.length - 1].id;
      if (batch.length === batchSize) next = fetchAfter(cursor);
      opts.onRows?.(batch);
      for (let i = 0; i < batch.length; i++) {
        tally.add(artifactOf(batch[i]), repositorySide(batch[i]));
        if (i % 32 === 31) await yieldToIo();
      }
      await opts.onBatch(cursor);
    }
  } finally {
    // Never hand back a connection with a query still in flight.
    if (next) await next.catch(() => undefined);
  }
}

const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+(-[0-9A-F]+)?$/i;

/**
 * `n` pooled sessions, each in a REPEATABLE READ READ ONLY transaction of the same snapshot (exported by the
 * first, imported by the others); committed when `fn` returns, discarded with their connections when it throws.
 */
async function withSnapshotSessions<T>(pool: pg.Pool, n: number, fn: (sessions: pg.PoolClient[]) => Promise<T>): Promise<T> {
  // Fewer connections would leave the first sessions holding theirs while the rest wait for them forever.
  const max = pool.options.max ?? 10;
  if (max < n) throw new RangeError(`verify with ${n} parallel sessions needs a pool of at least ${n} connections, this one holds ${max}`);
  let snapshot: string | null = null;
  const join = (sessions: pg.PoolClient[]): Promise<T> =>
    withClient(pool, async (client) => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      if (snapshot === null) {
        if (n > 1) snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0].id;
      } else {
        // SET TRANSACTION SNAPSHOT takes no parameters; the id comes from the server and is checked anyway.
        if (!SNAPSHOT_ID.test(snapshot)) throw new Error(`unexpected snapshot id ${snapshot}`);
        await client.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
      }
      const all = [...sessions, client];
      const result = await (all.length === n ? fn(all) : join(all));
      await client.query('COMMIT');
      return result;
    });
  return join([]);
}

type Final = {
  counts: Partial<RepositoryCounts>;
  withoutArtifact?: Listed<{ planId: string; version: number }>;
  plansInconsistent?: Listed<PlanRowInconsistency>;
};

/** The database-side findings, one statement each, so free sessions can share them out. */
function finalQueries(final: Final): ((client: pg.PoolClient) => Promise<void>)[] {
  return [
    ...REPOSITORY_TABLES.map((table) => async (client: pg.PoolClient) => {
      final.counts[table] = await repositoryTableCount(client, table);
    }),
    async (client) => {
      final.withoutArtifact = await versionsWithoutArtifact(client);
    },
    async (client) => {
      final.plansInconsistent = await inconsistentPlans(client);
    },
  ];
}

/**
 * The delta's verification: its artifacts walked in one session, and the table-wide findings asked for their
 * keys only (counts of their versions' rows, their plans rows), so the report compares like with like.
 */
async function verifyScope(pool: pg.Pool, scope: VerifyScope, opts: VerifyRepositoryOptions): Promise<VerificationReport> {
  const started = process.hrtime.bigint();
  const sample = opts.sample ?? 'all';
  const batchSize = opts.batchSize ?? DEFAULT_VERIFY_BATCH;
  const threshold = sampleThreshold(sample);
  return withSnapshotSessions(pool, 1, async ([client]) => {
    const tally = new VerificationTally(sample, nativeSha256);
    const planIds: string[] = [];
    const versions: number[] = [];
    const onRows = (rows: BatchRow[]) => {
      for (const r of rows) {
        planIds.push(r.plan_id);
        versions.push(r.version);
      }
    };
    const parts: IdPart[] = [
      { after: 0, upTo: scope.afterId, ids: scope.artifactIds },
      { after: scope.afterId, upTo: opts.upToId ?? Number.MAX_SAFE_INTEGER },
    ];
    for (const part of parts) {
      if (part.ids?.length === 0) continue;
      const onBatch = async (cursor: number) => opts.onProgress?.({ cursors: [cursor], ...tally.progress() });
      await walk(client, part, tally, threshold, { batchSize, onBatch, stopped: () => false, onRows });
    }
    const actual = await scopeCounts(client, planIds, versions);
    return tally.finish({
      actual,
      // Every walked key has an artifact; versions without one are the whole verify's business.
      withoutArtifact: { count: 0, first: [] },
      plansInconsistent: await inconsistentPlans(client, [...new Set(planIds)]),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  });
}

/** Row counts of the repository for these version keys (and their plans). */
async function scopeCounts(client: pg.PoolClient, planIds: string[], versions: number[]): Promise<RepositoryCounts> {
  const res = await client.query<RepositoryCounts>(
    `WITH k AS (SELECT DISTINCT plan_id, version FROM unnest($1::text[], $2::int4[]) AS u(plan_id, version))
     SELECT (SELECT count(*) FROM plans WHERE plan_id IN (SELECT plan_id FROM k))::int8 AS plans,
            (SELECT count(*) FROM plan_versions t JOIN k USING (plan_id, version))::int8 AS plan_versions,
            (SELECT count(*) FROM plan_kpis t JOIN k USING (plan_id, version))::int8 AS plan_kpis,
            (SELECT count(*) FROM plan_series t JOIN k USING (plan_id, version))::int8 AS plan_series,
            (SELECT count(*) FROM plan_events t JOIN k USING (plan_id, version))::int8 AS plan_events`,
    [planIds, versions],
  );
  return res.rows[0];
}

/** Verifies the whole repository (or a sample of its versions) against the legacy table; see the module comment. */
export async function verifyRepository(pool: pg.Pool, opts: VerifyRepositoryOptions = {}): Promise<VerificationReport> {
  if (opts.only) return verifyScope(pool, opts.only, opts);
  const started = process.hrtime.bigint();
  const sample = opts.sample ?? 'all';
  const threshold = sampleThreshold(sample);
  const parallel = opts.parallel ?? DEFAULT_VERIFY_PARALLEL;
  if (!(Number.isInteger(parallel) && parallel >= 1 && parallel <= MAX_VERIFY_PARALLEL))
    throw new RangeError(`parallel must be a whole number from 1 to ${MAX_VERIFY_PARALLEL}, got ${parallel}`);
  return withSnapshotSessions(pool, parallel, async (sessions) => {
    if (!(await tableExists(sessions[0], 'plan_versions')))
      throw new Error('the PlanRepository tables do not exist: apply the migrations first');
    const parts = await idParts(sessions[0], parallel, opts.upToId ?? Number.MAX_SAFE_INTEGER);
    const tallies = parts.map(() => new VerificationTally(sample, nativeSha256, opts.rejectedEarlier));
    const cursors = parts.map((p) => p.after);
    const final: Final = { counts: {} };
    const queries = finalQueries(final);
    const batchSize = opts.batchSize ?? DEFAULT_VERIFY_BATCH;
    // The first error (a cancel thrown by onProgress, a lost connection) stops every session and is the result.
    const outcome: { failure?: { error: unknown } } = {};
    const failed = () => outcome.failure !== undefined;
    const onBatch = async (part: number, cursor: number) => {
      cursors[part] = cursor;
      const sums = tallies
        .map((t) => t.progress())
        .reduce((a, b) => ({
          artifactsRead: a.artifactsRead + b.artifactsRead,
          versionsChecked: a.versionsChecked + b.versionsChecked,
          mismatches: a.mismatches + b.mismatches,
        }));
      try {
        await opts.onProgress?.({ cursors: [...cursors], ...sums });
      } catch (error) {
        // At once, not after this part's fetch ahead has come back: the other parts stop at their next batch.
        outcome.failure ??= { error };
        throw error;
      }
    };
    await Promise.all(
      sessions.map(async (client, i) => {
        try {
          if (i < parts.length) {
            await walk(client, parts[i], tallies[i], threshold, { batchSize, onBatch: (c) => onBatch(i, c), stopped: failed });
          }
          for (let query = queries.shift(); query && !failed(); query = queries.shift()) await query(client);
        } catch (error) {
          outcome.failure ??= { error };
        }
      }),
    );
    if (outcome.failure) throw outcome.failure.error;
    const [tally, ...later] = tallies;
    for (const t of later) tally.append(t);
    return tally.finish({
      actual: final.counts as RepositoryCounts,
      withoutArtifact: final.withoutArtifact!,
      plansInconsistent: final.plansInconsistent!,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  });
}
