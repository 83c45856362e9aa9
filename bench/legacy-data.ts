/** The legacy table the benchmark migrates: deterministic demo documents (transform/demo-payloads.ts). */
import pg from 'pg';
import { seedDemo } from '../db/seed';
import { progress, secondsSince } from './log';

export interface LegacyDataOptions {
  plans: number;
  versions: number;
  series: number;
  seed: number;
}

export interface LegacyData {
  artifacts: number;
  seconds: number;
}

/**
 * Fills `plan_artifacts` (plans x versions valid documents, a quarter of them in the older format),
 * then VACUUM ANALYZE so that neither timed phase pays for hint bits or statistics on first read.
 */
export async function generateLegacyTable(pool: pg.Pool, opts: LegacyDataOptions): Promise<LegacyData> {
  const started = process.hrtime.bigint();
  const total = opts.plans * opts.versions;
  progress(`generating ${total} legacy artifacts (${opts.plans} plans x ${opts.versions} versions, ${opts.series} series rows each)`);
  const result = await seedDemo(pool, { plans: opts.plans, versions: opts.versions, series: opts.series, seed: opts.seed });
  if (result.existing)
    throw new Error(`plan_artifacts already held ${result.existing} of the generated rows: the bench needs an empty database`);
  await pool.query('VACUUM (ANALYZE) plan_artifacts');
  const seconds = secondsSince(started);
  progress(`generated ${result.inserted} artifacts in ${seconds.toFixed(1)}s`);
  return { artifacts: result.inserted, seconds };
}
