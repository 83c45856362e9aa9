/** Reads the application's `plan_artifacts` table: keyset batches, never the whole table at once. */
import { createHash } from 'node:crypto';
import type { LegacyArtifact } from '../transform/types';
import { LEGACY_TABLE_DDL } from './legacy-schema';
import { Queryable } from './connection';
import { TRUSTED_SNAPSHOTS_CTE, UNCHANGED_SINCE_RUN_SQL } from './legacy-snapshot';
import { legacyPayloadSql, parseLegacyPayload, type LegacyPayloadColumns } from './jsonb-text';

export async function legacyTableExists(db: Queryable): Promise<boolean> {
  const res = await db.query<{ present: boolean }>(`SELECT to_regclass('public.plan_artifacts') IS NOT NULL AS present`);
  return res.rows[0].present;
}

/** Creates the legacy table with the application's exact shape, if missing (demo seeder and tests only). */
export async function ensureLegacyTable(db: Queryable): Promise<void> {
  await db.query(LEGACY_TABLE_DDL);
}

export interface LegacyBounds {
  artifacts: number;
  plans: number;
  minId: number | null;
  maxId: number | null;
}

export async function legacyBounds(db: Queryable): Promise<LegacyBounds> {
  const res = await db.query<{ artifacts: number; plans: number; min_id: number | null; max_id: number | null }>(
    `SELECT count(*)::int8 AS artifacts, count(DISTINCT plan_id)::int8 AS plans, min(id) AS min_id, max(id) AS max_id
       FROM plan_artifacts`,
  );
  const r = res.rows[0];
  return { artifacts: r.artifacts, plans: r.plans, minId: r.min_id, maxId: r.max_id };
}

type ArtifactRow = { id: number; plan_id: string; version: number; created_at: Date } & LegacyPayloadColumns;

/** An artifact as read, its payload still the text PostgreSQL sent (parse it with `parseLegacyPayload`). */
export interface LegacyArtifactText extends Omit<LegacyArtifact, 'payload'> {
  text: LegacyPayloadColumns | null;
}

const fromArtifactRow = (r: ArtifactRow): LegacyArtifactText => ({
  id: r.id,
  planId: r.plan_id,
  version: r.version,
  text: { payload: r.payload, payload_exact: r.payload_exact },
  createdAt: r.created_at,
  // The same text PostgreSQL's md5(payload::text) hashes (node-pg hands it over unchanged).
  payloadMd5: createHash('md5').update(r.payload).digest('hex'),
});

/**
 * Artifacts with `afterId < id <= upToId`, in id order, at most `limit` of them, payloads unparsed: a
 * caller that parses one at a time and drops it holds one parsed payload, not a batch of them. With
 * `changedOnly` (the cut-over's delta), only those no version was written from with this very payload:
 * new, changed in place, rejected, or written before payloads were fingerprinted. PostgreSQL hashes the
 * payloads of rows changed since their version's run started (db/legacy-snapshot.ts); none of the
 * unchanged ones leaves the server.
 */
export async function readArtifactTexts(
  db: Queryable,
  range: { afterId: number; upToId?: number | null; limit: number; changedOnly?: boolean },
): Promise<LegacyArtifactText[]> {
  // Only when asked: before the first schema migration there is no plan_versions to look at.
  // Only rows changed since their version's run started have their payload hashed (db/legacy-snapshot.ts).
  const changed = range.changedOnly
    ? `AND NOT EXISTS (SELECT 1 FROM plan_versions v WHERE v.source_artifact_id = a.id
                        AND CASE WHEN ${UNCHANGED_SINCE_RUN_SQL} THEN true ELSE v.source_payload_md5 = md5(a.payload::text) END)`
    : '';
  const res = await db.query<ArtifactRow>(
    `${range.changedOnly ? `WITH ${TRUSTED_SNAPSHOTS_CTE}` : ''}
     SELECT a.id, a.plan_id, a.version, ${legacyPayloadSql('a')}, a.created_at FROM plan_artifacts a
      WHERE a.id > $1 AND ($2::int8 IS NULL OR a.id <= $2) ${changed} ORDER BY a.id LIMIT $3`,
    [range.afterId, range.upToId ?? null, range.limit],
  );
  return res.rows.map(fromArtifactRow);
}

/** The artifacts among `ids` that still exist, in id order (an error replay's batch), payloads unparsed. */
export async function readArtifactTextsByIds(db: Queryable, ids: number[]): Promise<LegacyArtifactText[]> {
  const res = await db.query<ArtifactRow>(
    `SELECT a.id, a.plan_id, a.version, ${legacyPayloadSql('a')}, a.created_at FROM plan_artifacts a
      WHERE a.id = ANY($1::int8[]) ORDER BY a.id`,
    [ids],
  );
  return res.rows.map(fromArtifactRow);
}

/** Artifacts with `afterId < id <= upToId`, in id order, at most `limit` of them, payloads parsed. */
export async function readArtifacts(
  db: Queryable,
  range: { afterId: number; upToId?: number | null; limit: number; changedOnly?: boolean },
): Promise<LegacyArtifact[]> {
  return (await readArtifactTexts(db, range)).map(({ text, ...a }) => ({ ...a, payload: parseLegacyPayload(text!) }));
}

/**
 * A run's range after `afterId`: up to the legacy table's current end (max id), or with a `limit` up to the
 * limit-th artifact, so the range alone bounds the run (its shards need no shared count); and how many
 * artifacts it holds.
 */
export async function legacyRangeAfter(
  db: Queryable,
  afterId: number,
  limit: number | null,
): Promise<{ upToId: number; artifacts: number }> {
  const res = await db.query<{ up_to: number | null; n: number }>(
    `SELECT coalesce((SELECT id FROM plan_artifacts WHERE $2::int8 IS NOT NULL AND id > $1 ORDER BY id OFFSET $2::int8 - 1 LIMIT 1),
                     (SELECT max(id) FROM plan_artifacts)) AS up_to,
            (SELECT count(*)::int8 FROM plan_artifacts WHERE id > $1) AS n`,
    [afterId, limit],
  );
  const n = res.rows[0].n;
  return { upToId: res.rows[0].up_to ?? 0, artifacts: limit === null ? n : Math.min(limit, n) };
}
