/**
 * SQL of the online cut-over's final delta (workflows/online-cutover.ts): which stored versions a delta
 * batch may rewrite, and what the delta run did, counted from the rows it wrote.
 */
import type pg from 'pg';
import type { LegacyArtifact, TransformResult } from '../transform/types';
import type { Queryable } from './connection';
import { versionKey } from './repository-writer';

/**
 * For the artifacts of a batch whose version is stored with another checksum: the stored version's source
 * artifact id, by version key. Only those keys are asked (a delta batch usually has none), so the delta
 * pays one small lookup on top of the checksums the backfill reads anyway.
 */
export async function sourcesOfChanged(
  client: pg.PoolClient,
  artifacts: LegacyArtifact[],
  results: TransformResult[],
  existing: Map<string, string>,
): Promise<Map<string, number>> {
  const keys = artifacts.filter((a, i) => {
    const r = results[i];
    const stored = existing.get(versionKey(a.planId, a.version));
    return r.ok && stored !== undefined && stored !== r.checksum;
  });
  const out = new Map<string, number>();
  if (!keys.length) return out;
  const res = await client.query<{ plan_id: string; version: number; source_artifact_id: number | null }>(
    `SELECT v.plan_id, v.version, v.source_artifact_id FROM plan_versions v
       JOIN unnest($1::text[], $2::int4[]) AS k(plan_id, version) ON v.plan_id = k.plan_id AND v.version = k.version`,
    [keys.map((k) => k.planId), keys.map((k) => k.version)],
  );
  for (const r of res.rows) if (r.source_artifact_id !== null) out.set(versionKey(r.plan_id, r.version), r.source_artifact_id);
  return out;
}

/**
 * The delta runs of a cut-over: every `delta` run of the environment started after backfill run `afterRunId`
 * finished, so a delta retried after a failure still counts (and verifies) what the failed attempt rewrote.
 */
const DELTA_RUNS = `SELECT d.run_id FROM plan_backfill_runs d, plan_backfill_runs b
                     WHERE b.run_id = $1 AND d.environment = b.environment AND d.mode = 'delta' AND d.started_at >= b.finished_at`;

export interface DeltaSize {
  /** Legacy artifacts in (afterId, upToId]: appended since the backfill's range. */
  newArtifacts: number;
  /** Versions the delta runs wrote for those. */
  newVersions: number;
  /** Versions the delta runs rewrote because their artifact (id <= afterId) changed in place. */
  changedVersions: number;
}

/** What the cut-over's delta runs did beyond backfill run `afterRunId`, whose range ended at `afterId`; `upToId` is the delta's end. */
export async function deltaSize(db: Queryable, args: { afterRunId: string; afterId: number; upToId: number }): Promise<DeltaSize> {
  const res = await db.query<{ new_artifacts: number; new_versions: number; changed: number }>(
    `SELECT (SELECT count(*)::int8 FROM plan_artifacts WHERE id > $2 AND id <= $3) AS new_artifacts,
            count(*) FILTER (WHERE source_artifact_id > $2)::int8 AS new_versions,
            count(*) FILTER (WHERE source_artifact_id <= $2)::int8 AS changed
       FROM plan_versions WHERE backfill_run_id IN (${DELTA_RUNS})`,
    [args.afterRunId, args.afterId, args.upToId],
  );
  const r = res.rows[0];
  return { newArtifacts: r.new_artifacts, newVersions: r.new_versions, changedVersions: r.changed };
}

/** Source artifact ids (at or below `afterId`) of the versions the delta runs rewrote, ascending: what the delta's verify re-reads. */
export async function changedArtifactIds(db: Queryable, args: { afterRunId: string; afterId: number }): Promise<number[]> {
  const res = await db.query<{ id: number }>(
    `SELECT source_artifact_id AS id FROM plan_versions
      WHERE backfill_run_id IN (${DELTA_RUNS}) AND source_artifact_id <= $2 ORDER BY 1`,
    [args.afterRunId, args.afterId],
  );
  return res.rows.map((r) => r.id);
}
