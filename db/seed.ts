/** `plandb seed-demo`: deterministic demo rows in the legacy table, streamed in batches. */
import { demoArtifacts, DemoOptions } from '../transform/demo-payloads';
import { Queryable } from './connection';
import { ensureLegacyTable } from './legacy-reader';

const BATCH = 500;
const BASE_TIME = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;

export interface SeedResult {
  inserted: number;
  /** Rows that were already there (same plan_id and version): re-seeding is idempotent. */
  existing: number;
}

export async function seedDemo(db: Queryable, opts: DemoOptions): Promise<SeedResult> {
  await ensureLegacyTable(db);
  const result: SeedResult = { inserted: 0, existing: 0 };
  let planIds: string[] = [];
  let versions: number[] = [];
  let payloads: string[] = [];
  let createdAt: string[] = [];
  const flush = async () => {
    if (!planIds.length) return;
    const res = await db.query(
      `INSERT INTO plan_artifacts (plan_id, version, payload, created_at)
       SELECT * FROM unnest($1::text[], $2::int4[], $3::jsonb[], $4::timestamptz[])
       ON CONFLICT (plan_id, version) DO NOTHING`,
      [planIds, versions, payloads, createdAt],
    );
    result.inserted += res.rowCount ?? 0;
    result.existing += planIds.length - (res.rowCount ?? 0);
    planIds = [];
    versions = [];
    payloads = [];
    createdAt = [];
  };
  for (const artifact of demoArtifacts(opts)) {
    planIds.push(artifact.planId);
    versions.push(artifact.version);
    payloads.push(JSON.stringify(artifact.payload));
    // Deterministic timestamps, so the same seed gives the same table.
    createdAt.push(new Date(BASE_TIME + (artifact.version - 1) * DAY_MS).toISOString());
    if (planIds.length >= BATCH) await flush();
  }
  await flush();
  return result;
}
