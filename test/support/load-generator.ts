/** The load generator (bench/load-generator.ts) on a test database: the application writing during a migration. */
import { startLoadGenerator, type LoadGenerator, type LoadGeneratorOptions } from '../../bench/load-generator';
import type { TestDatabase } from './database';

export type { LoadGenerator, LoadGeneratorCounts } from '../../bench/load-generator';

export function startApplicationWrites(db: TestDatabase, opts: LoadGeneratorOptions): Promise<LoadGenerator> {
  return startLoadGenerator(db.url, opts);
}

/** Legacy artifacts with an id at or below `upToId` that have no repository version. */
export async function missingUpTo(db: TestDatabase, upToId: number): Promise<number[]> {
  const res = await db.pool.query<{ id: string }>(
    `SELECT a.id FROM plan_artifacts a WHERE a.id <= $1
        AND NOT EXISTS (SELECT 1 FROM plan_versions v WHERE v.source_artifact_id = a.id) ORDER BY a.id`,
    [upToId],
  );
  return res.rows.map((r) => Number(r.id));
}
