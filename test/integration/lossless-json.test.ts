/**
 * Lossless JSON: numbers a double cannot hold in `summary` and event `detail`, and event times with
 * microseconds, reach the repository exactly as the legacy jsonb holds them, and verify sees a changed digit.
 */
import { createVerifyActivities } from '../../activities/verify';
import { runBackfill, seededDatabase } from '../support/backfill';
import { activityDeps } from '../support/activities';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const URL_VAR = 'PLANDB_T_LOSSLESS_URL';
const DEMO = { plans: 3, versions: 2, series: 4, seed: 31 };
const BIG = '12345678901234567890123';
const ODD = '9007199254740993'; // 2^53 + 1: JavaScript reads 9007199254740992

// Written as text, so the numbers reach jsonb with all their digits.
const EXACT = [
  `{"name": "Exact plan", "status": "draft", "summary": {"total": ${BIG}, "odd": ${ODD}, "scale": 1.50, "tiny": 1e-400, "list": [${ODD}, 0.1]},
    "series": [{"item": "A", "location": "L", "period": "2026-01", "metric": "m", "value": 1}],
    "events": [{"at": "2026-01-01T00:00:00.123456Z", "type": "created", "detail": {"n": ${ODD}, "deep": {"x": ${BIG}}}},
               {"at": "2026-01-01T09:00:00.000001+09:00", "type": "edited"}]}`,
  `{"name": "Exact plan", "status": "published", "summary": {"n": -${BIG}.000},
    "series": [], "events": [{"at": "2026-01-02T00:00:00.5Z", "type": "published", "detail": {"v": 1e30}}]}`,
];

describe('lossless JSON', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeEach(async () => {
    db = await seededDatabase(DEMO);
    for (const [i, payload] of EXACT.entries()) {
      await db.pool.query(`INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('exact', $1, $2::jsonb)`, [i + 1, payload]);
    }
    harness = await createTemporalHarness(testConfig({ dev: { databaseUrlEnv: URL_VAR } }), { [URL_VAR]: db.url });
  });
  afterEach(async () => {
    await harness?.close();
    await db?.drop();
  });

  async function verify() {
    const env = { [URL_VAR]: db.url };
    const deps = activityDeps(testConfig({ dev: { databaseUrlEnv: URL_VAR } }), env);
    try {
      return await createVerifyActivities(deps, env).verify({ environment: 'dev' });
    } finally {
      await deps.databases.close();
    }
  }

  test('summary, event detail and event times are stored exactly; verify passes, then catches one changed digit', async () => {
    const result = await runBackfill(harness, { batchSize: 3 });
    expect(result).toEqual(expect.objectContaining({ status: 'completed', versionsWritten: DEMO.plans * DEMO.versions + 2, errorsCount: 0 }));

    const summaries = await db.pool.query(
      `SELECT a.version, v.summary = a.payload->'summary' AS equal, v.summary::text = (a.payload->'summary')::text AS same_text,
              v.summary->>'odd' AS odd
         FROM plan_artifacts a JOIN plan_versions v USING (plan_id, version) WHERE a.plan_id = 'exact' ORDER BY a.version`,
    );
    expect(summaries.rows).toEqual([
      { version: 1, equal: true, same_text: true, odd: ODD },
      { version: 2, equal: true, same_text: true, odd: null },
    ]);
    const events = await db.pool.query(
      `SELECT a.version, e.seq, e.detail = coalesce(a.payload->'events'->e.seq->'detail', '{}') AS detail_equal,
              e.at = (a.payload->'events'->e.seq->>'at')::timestamptz AS at_equal, to_char(e.at AT TIME ZONE 'UTC', 'US') AS micros
         FROM plan_artifacts a JOIN plan_events e USING (plan_id, version) WHERE a.plan_id = 'exact' ORDER BY a.version, e.seq`,
    );
    expect(events.rows).toEqual([
      { version: 1, seq: 0, detail_equal: true, at_equal: true, micros: '123456' },
      { version: 1, seq: 1, detail_equal: true, at_equal: true, micros: '000001' },
      { version: 2, seq: 0, detail_equal: true, at_equal: true, micros: '500000' },
    ]);
    expect(await verify()).toEqual(expect.objectContaining({ passed: true, mismatches: 0, matches: DEMO.plans * DEMO.versions + 2 }));

    // One digit of a number JavaScript cannot tell apart from its neighbour, and one microsecond.
    await db.pool.query(
      `UPDATE plan_versions SET summary = jsonb_set(summary, '{odd}', '9007199254740992') WHERE plan_id = 'exact' AND version = 1`,
    );
    await db.pool.query(`UPDATE plan_events SET at = at + interval '1 microsecond' WHERE plan_id = 'exact' AND version = 2`);
    const changed = await verify();
    expect(changed).toEqual(expect.objectContaining({ passed: false, mismatches: 2 }));
    expect(changed.firstMismatches.map((m) => [m.planId, m.version, m.differences.map((d) => d.field)])).toEqual([
      ['exact', 1, ['summary']],
      ['exact', 2, ['events[0].at']],
    ]);
  });
});
