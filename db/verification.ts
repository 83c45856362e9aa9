/**
 * Streamed verification of the PlanRepository against `plan_artifacts` (SPEC §6 verify): checksum of the
 * normalized legacy version = checksum of the version read back = the checksum the backfill stored, and
 * table counts equal what the transform expects.
 *
 * One statement per batch walks the artifacts by id (keyset) and joins what the repository holds for each
 * key, children included for the sampled versions; the next batch is already in flight while this one is
 * transformed and hashed, so PostgreSQL and this process work at the same time. Memory stays flat: two
 * batches, the listed findings and the set of plan ids. Everything runs in one REPEATABLE READ READ ONLY
 * transaction, so the walk, the counts and the anti-join see the same snapshot.
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
import { repositoryCounts } from './repository-stats';

const DEFAULT_VERIFY_BATCH = 500;

export interface VerificationProgress {
  /** Last artifact id verified. */
  cursor: number;
  artifactsRead: number;
  versionsChecked: number;
  mismatches: number;
}

export interface VerifyRepositoryOptions {
  /** 'all' (default) or the fraction of versions read back and re-checksummed. */
  sample?: VerifySample;
  /** Artifacts per batch. */
  batchSize?: number;
  /** Awaited after each batch: an activity heartbeats here, and may throw to stop. */
  onProgress?: (progress: VerificationProgress) => void | Promise<void>;
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
WITH a AS (SELECT id, plan_id, version, payload FROM plan_artifacts WHERE id > $1 ORDER BY id LIMIT $2)
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

/** `plans` rows whose latest_version, name or status differ from the newest version held for the plan. */
async function inconsistentPlans(db: pg.PoolClient): Promise<Listed<PlanRowInconsistency>> {
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
      WHERE lv.version IS DISTINCT FROM p.latest_version OR lv.name IS DISTINCT FROM p.name OR lv.status IS DISTINCT FROM p.status
      ORDER BY p.plan_id LIMIT $1`,
    [LISTED_FINDINGS],
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

async function walk(
  client: pg.PoolClient,
  tally: VerificationTally,
  threshold: number | null,
  opts: VerifyRepositoryOptions,
): Promise<void> {
  const batchSize = opts.batchSize ?? DEFAULT_VERIFY_BATCH;
  const fetchAfter = (cursor: number) => client.query<BatchRow>(BATCH_SQL, [cursor, batchSize, threshold]).then((res) => res.rows);
  let next: Promise<BatchRow[]> | null = fetchAfter(0);
  try {
    while (next) {
      const batch: BatchRow[] = await next;
      next = null;
      if (!batch.length) break;
      const cursor = batch[batch.length - 1].id;
      if (batch.length === batchSize) next = fetchAfter(cursor);
      for (let i = 0; i < batch.length; i++) {
        tally.add(artifactOf(batch[i]), repositorySide(batch[i]));
        if (i % 32 === 31) await yieldToIo();
      }
      await opts.onProgress?.({ cursor, ...tally.progress() });
    }
  } finally {
    // Never hand back a connection with a query still in flight.
    if (next) await next.catch(() => undefined);
  }
}

/** Verifies the whole repository (or a sample of its versions) against the legacy table; see the module comment. */
export async function verifyRepository(pool: pg.Pool, opts: VerifyRepositoryOptions = {}): Promise<VerificationReport> {
  const started = process.hrtime.bigint();
  const sample = opts.sample ?? 'all';
  const threshold = sampleThreshold(sample);
  const tally = new VerificationTally(sample, nativeSha256);
  return withClient(pool, async (client) => {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await walk(client, tally, threshold, opts);
    const actual = await repositoryCounts(client);
    if (!actual) throw new Error('the PlanRepository tables do not exist: apply the migrations first');
    const withoutArtifact = await versionsWithoutArtifact(client);
    const plansInconsistent = await inconsistentPlans(client);
    await client.query('COMMIT');
    return tally.finish({ actual, withoutArtifact, plansInconsistent, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
  });
}
