/**
 * How the cut-over's delta finds payloads changed in place: by row version (xmin) against the snapshot the
 * writing run started from, without hashing unchanged payloads; a row rewritten as it was is dismissed by
 * its checksum; freezing hides no change.
 */
import { trustedSnapshotRuns } from '../../db/legacy-snapshot';
import { readArtifactTexts } from '../../db/legacy-reader';
import { runBackfill, seededDatabase } from '../support/backfill';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';
import { createTemporalHarness, type TemporalHarness } from '../support/temporal';

const URL_ENV = 'PLANDB_T_DELTA_DETECTION_URL';

describe('delta change detection', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;
  beforeAll(async () => {
    db = await seededDatabase({ plans: 4, versions: 3, series: 3, bad: 0, seed: 41 });
    harness = await createTemporalHarness(testConfig({ staging: { databaseUrlEnv: URL_ENV, maintenance: { mode: 'none' } } }), {
      [URL_ENV]: db.url,
    });
  });
  afterAll(async () => {
    await harness?.close();
    await db?.drop();
  });

  const changedIds = async () => (await readArtifactTexts(db.pool, { afterId: 0, limit: 1000, changedOnly: true })).map((a) => a.id);
  const change = (id: number) =>
    db.pool.query(`UPDATE plan_artifacts SET payload = jsonb_set(payload, '{name}', to_jsonb('changed ' || id)) WHERE id = $1`, [id]);

  test('changed rows are found by row version, touched ones dismissed by checksum, frozen ones still found', async () => {
    const run = await runBackfill(harness, { environment: 'staging' });
    expect(run.status).toBe('completed');
    expect(await trustedSnapshotRuns(db.pool)).toEqual([run.runId]);
    expect(await changedIds()).toEqual([]);

    const ids = (await db.pool.query<{ id: number }>('SELECT id FROM plan_artifacts ORDER BY id')).rows.map((r) => Number(r.id));
    await change(ids[0]);
    // Rewritten as it was: a new row version, the same payload.
    await db.pool.query('UPDATE plan_artifacts SET payload = payload WHERE id = $1', [ids[1]]);
    expect(await changedIds()).toEqual([ids[0]]);

    // A frozen row keeps its raw xmin: a change frozen before the delta is still found.
    await change(ids[2]);
    const xmin = async () =>
      (await db.pool.query<{ xmin: string }>('SELECT xmin::text FROM plan_artifacts WHERE id = $1', [ids[2]])).rows[0].xmin;
    const before = await xmin();
    await db.pool.query('VACUUM (FREEZE) plan_artifacts');
    expect(await xmin()).toBe(before);
    expect(await trustedSnapshotRuns(db.pool)).toEqual([run.runId]);
    expect(await changedIds()).toEqual([ids[0], ids[2]]);

    // A snapshot ahead of this server's transactions (run rows restored from another server) is not trusted: its rows are hashed.
    await db.pool.query(
      `UPDATE plan_backfill_runs SET options = jsonb_set(options, '{legacySnapshot,xmin}', '"9000000000000"') WHERE run_id = $1`,
      [run.runId],
    );
    expect(await trustedSnapshotRuns(db.pool)).toEqual([]);
    expect(await changedIds()).toEqual([ids[0], ids[2]]);
  });
});
