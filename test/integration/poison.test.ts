/**
 * Poison artifacts: values PostgreSQL cannot store are rejected by the transform, and a version that
 * PostgreSQL refuses anyway is isolated by bisecting its batch; either way the run completes, the rest
 * of the data is written, and the artifact is named in plan_backfill_errors.
 */
import { randomBytes } from 'node:crypto';
import { withClient } from '../../db/connection';
import { upgrade } from '../../db/migrator';
import { seedDemo } from '../../db/seed';
import type { DemoOptions } from '../../transform/demo-payloads';
import type { BackfillResult } from '../../workflows/definitions';
import { startBackfill } from '../support/backfill';
import { testConfig } from '../support/config';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const URL_VAR = 'PLANDB_T_POISON_URL';
const FIRST: DemoOptions = { plans: 3, versions: 3, series: 6, seed: 21 };
// Seeding again with more plans appends plans 4..6 after the poison rows (plans 1..3 are already there).
const ALL: DemoOptions = { ...FIRST, plans: 6 };
const VALID = ALL.plans * ALL.versions;

const row = (over: Record<string, unknown>) => ({ item: 'SKU-1', location: 'TOKYO', period: '2026-01', metric: 'demand', value: 1, ...over });
const doc = (series: unknown[]) => JSON.stringify({ name: 'Poison plan', status: 'draft', series });

/** Demo plans, then `poison` (payload text per version of plan "poison"), then more demo plans; migrated. */
async function databaseWith(poison: string[]): Promise<{ db: TestDatabase; poisonIds: number[] }> {
  const db = await createTestDatabase();
  await seedDemo(db.pool, FIRST);
  const poisonIds: number[] = [];
  for (const [i, payload] of poison.entries()) {
    const res = await db.pool.query<{ id: string }>(
      `INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('poison', $1, $2::jsonb) RETURNING id`,
      [i + 1, payload],
    );
    poisonIds.push(Number(res.rows[0].id));
  }
  await seedDemo(db.pool, ALL);
  await withClient(db.pool, (c) => upgrade(c));
  return { db, poisonIds };
}

/** Runs a backfill; returns its result and the attempt number of every activity it ran. */
async function backfill(harness: TemporalHarness, input: Record<string, unknown>): Promise<{ result: BackfillResult; attempts: number[] }> {
  return harness.run(async () => {
    const handle = await startBackfill(harness, input);
    const result = (await handle.result()) as BackfillResult;
    const { events } = await handle.fetchHistory();
    const attempts = (events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 0] : []));
    return { result, attempts };
  });
}

async function errorsOf(db: TestDatabase, runId: string) {
  const res = await db.pool.query<{ artifact_id: string; reason: string; detail: Record<string, unknown> }>(
    `SELECT artifact_id, reason, detail FROM plan_backfill_errors WHERE run_id = $1 ORDER BY artifact_id`,
    [runId],
  );
  return res.rows.map((r) => ({ artifactId: Number(r.artifact_id), reason: r.reason, detail: r.detail }));
}

/** The artifacts written to the repository, by id. */
async function writtenIds(db: TestDatabase): Promise<number[]> {
  const res = await db.pool.query<{ id: string }>(`SELECT source_artifact_id AS id FROM plan_versions ORDER BY 1`);
  return res.rows.map((r) => Number(r.id));
}

async function allIds(db: TestDatabase): Promise<number[]> {
  return (await db.pool.query<{ id: string }>(`SELECT id FROM plan_artifacts ORDER BY id`)).rows.map((r) => Number(r.id));
}

describe('poison artifacts', () => {
  let db: TestDatabase | undefined;
  let harness: TemporalHarness | undefined;

  afterEach(async () => {
    await harness?.close();
    await db?.drop();
  });

  async function start(poison: string[]): Promise<number[]> {
    const made = await databaseWith(poison);
    db = made.db;
    harness = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: URL_VAR } }), { [URL_VAR]: db.url });
    return made.poisonIds;
  }

  test('values PostgreSQL cannot store are rejected with their reason; everything else is written', async () => {
    const poisonIds = await start([
      doc([row({}), row({ period: randomBytes(5_000).toString('hex') })]), // 10,000 characters
      doc([row({})]).replace('"value":1', '"value":1e400'), // a JSON number, which jsonb holds exactly
      doc([row({ value: '1e400' })]),
      doc([row({ value: '-1e-400' })]),
      doc([row({})]).replace('"value":1', '"value":1e-400'), // JSON.parse would make it 0
    ]);
    // The legacy column is jsonb, which itself refuses U+0000: such a document never reaches the backfill
    // (the transform's text_has_nul check is for every other source; see the unit tests).
    await expect(
      db!.pool.query(`INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('nul', 1, $1::jsonb)`, [doc([row({ item: 'A\u0000' })])]),
    ).rejects.toThrow(/unsupported Unicode escape sequence/);

    const { result, attempts } = await backfill(harness!, { batchSize: 4 });
    expect(result).toEqual(
      expect.objectContaining({ status: 'completed', versionsWritten: VALID, versionsRejected: poisonIds.length, errorsCount: poisonIds.length }),
    );
    expect(attempts.every((a) => a === 1)).toBe(true);
    const errors = await errorsOf(db!, result.runId!);
    expect(errors.map((e) => [e.artifactId, e.reason])).toEqual([
      [poisonIds[0], 'key_too_long'],
      [poisonIds[1], 'number_out_of_range'],
      [poisonIds[2], 'number_out_of_range'],
      [poisonIds[3], 'number_out_of_range'],
      [poisonIds[4], 'number_out_of_range'],
    ]);
    expect(errors[0].detail).toEqual(expect.objectContaining({ table: 'plan_series', field: 'period', index: 1 }));
    expect(errors[0].detail.message).toMatch(/series\[1\] has a plan_series primary key of \d+ bytes.*period 10000 bytes/);
    expect(errors.slice(1).map((e) => e.detail.range)).toEqual(['overflow', 'overflow', 'underflow', 'underflow']);
    expect(await writtenIds(db!)).toEqual((await allIds(db!)).filter((id) => !poisonIds.includes(id)));
  });

  test('a version PostgreSQL refuses is bisected out of its batch as db_rejected, without retrying the batch', async () => {
    // Two refused versions side by side, so they share a batch and the bisection must separate them.
    const poisonIds = await start([doc([row({}), row({ item: 'POISON' })]), doc([row({ item: 'POISON', metric: 'supply' })])]);
    // Passes the transform, fails in PostgreSQL, like the oversized index row of the original incident.
    await db!.pool.query(`ALTER TABLE plan_series ADD CONSTRAINT no_poison CHECK (item <> 'POISON')`);

    for (const force of [false, true]) {
      const { result, attempts } = await backfill(harness!, { batchSize: 8, force });
      expect([force, result]).toEqual([
        force,
        expect.objectContaining({
          status: 'completed',
          versionsWritten: VALID,
          versionsRejected: 2,
          errorsCount: 2,
          seriesWritten: VALID * ALL.series,
          plansWritten: force ? 0 : ALL.plans,
        }),
      ]);
      expect(attempts.length).toBeGreaterThan(0);
      expect(attempts.every((a) => a === 1)).toBe(true);
      const errors = await errorsOf(db!, result.runId!);
      expect(errors.map((e) => [e.artifactId, e.reason])).toEqual(poisonIds.map((id) => [id, 'db_rejected']));
      for (const e of errors) {
        expect(e.detail).toEqual(expect.objectContaining({ sqlstate: '23514', constraint: 'no_poison', table: 'plan_series' }));
        expect(e.detail.message).toMatch(/violates check constraint "no_poison"/);
      }
      expect(await writtenIds(db!)).toEqual((await allIds(db!)).filter((id) => !poisonIds.includes(id)));
      const counts = await db!.pool.query(
        `SELECT (SELECT count(*) FROM plans WHERE plan_id = 'poison')::int AS poison_plans, (SELECT count(*) FROM plan_series)::int AS series`,
      );
      expect(counts.rows[0]).toEqual({ poison_plans: 0, series: VALID * ALL.series });
    }
  });
});
