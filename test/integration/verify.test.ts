import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { createVerifyActivities, type VerifyInput } from '../../activities/verify';
import { isSampled } from '../../db/verification';
import { generatePayload, mulberry32, SEEDABLE_REJECT_REASONS } from '../../transform/demo-payloads';
import { activityDeps, backfillAll } from '../support/activities';
import { seededDatabase } from '../support/backfill';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';

const DEMO = { plans: 6, versions: 4, series: 8, bad: SEEDABLE_REJECT_REASONS.length, seed: 3 };
const RICH = 'plan-rich';
const VALID = DEMO.plans * DEMO.versions + 1;
const URL_VAR = 'PLANDB_T_VERIFY_URL';

/** The demo set plus one plan with more series and events than any other, fully backfilled. */
async function backfilled(): Promise<TestDatabase> {
  const db = await seededDatabase(DEMO);
  const payload = generatePayload(mulberry32(11), { series: 30, kpis: 4, events: 6, legacyFormat: false, name: 'Rich plan' });
  await db.pool.query(`INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ($1, 1, $2)`, [RICH, JSON.stringify(payload)]);
  await backfillAll(db.pool);
  return db;
}

function verifier(db: TestDatabase, verify: Record<string, unknown> = {}) {
  const env = { [URL_VAR]: db.url };
  const deps = activityDeps(testConfig({ dev: { databaseUrlEnv: URL_VAR, verify } }), env);
  const { verify: run } = createVerifyActivities(deps, env);
  return { run: (input: Partial<VerifyInput> = {}) => run({ environment: 'dev', ...input }), close: () => deps.databases.close() };
}

/** Runs `sql` and returns its single row (the key of what it changed). */
async function one<T extends Record<string, unknown>>(db: TestDatabase, sql: string, params: unknown[] = []): Promise<T> {
  const res = await db.pool.query<T>(sql, params);
  expect(res.rows).toHaveLength(1);
  return res.rows[0];
}

describe('verify activity', () => {
  let db: TestDatabase;
  let v: ReturnType<typeof verifier>;

  beforeEach(async () => {
    db = await backfilled();
    v = verifier(db);
  });
  afterEach(async () => {
    await v?.close();
    await db?.drop();
  });

  test('passes on a fully backfilled database: every version matches, counts equal the tables', async () => {
    const result = await v.run();
    expect(result.problems).toEqual([]);
    expect(result).toEqual(
      expect.objectContaining({
        passed: true,
        sample: 'all',
        artifactsRead: VALID + DEMO.bad,
        versionsExpected: VALID,
        versionsChecked: VALID,
        matches: VALID,
        mismatches: 0,
        missingInRepository: 0,
        extraInRepository: 0,
        plansInconsistent: 0,
        rejectedLegacy: DEMO.bad,
        database: null,
      }),
    );
    expect(Object.keys(result.rejectedByReason).sort()).toEqual([...SEEDABLE_REJECT_REASONS].sort());
    const tables = await one<Record<string, number>>(
      db,
      `SELECT (SELECT count(*) FROM plans)::int AS plans, (SELECT count(*) FROM plan_versions)::int AS plan_versions,
              (SELECT count(*) FROM plan_kpis)::int AS plan_kpis, (SELECT count(*) FROM plan_series)::int AS plan_series,
              (SELECT count(*) FROM plan_events)::int AS plan_events`,
    );
    for (const [table, n] of Object.entries(tables))
      expect([table, result.counts[table as keyof typeof result.counts]]).toEqual([table, { expected: n, actual: n }]);
    expect(result.counts.plans.expected).toBe(DEMO.plans + 1);
    expect(result.http).toEqual([]);
    expect(JSON.stringify(result)).not.toMatch(/postgres(ql)?:\/\//);
  });

  test('an altered series value, KPI unit and event actor fail the verification naming plan, version and field', async () => {
    const series = await one<{ plan_id: string; version: number; item: string; location: string; period: string; metric: string }>(
      db,
      `UPDATE plan_series SET value = value + 1 WHERE ctid = (
         SELECT ctid FROM plan_series WHERE plan_id = 'plan-00002' ORDER BY version, item, location, period, metric LIMIT 1)
       RETURNING plan_id, version, item, location, period, metric`,
    );
    const kpi = await one<{ plan_id: string; version: number; name: string }>(
      db,
      `UPDATE plan_kpis SET unit = 'percent?' WHERE ctid = (SELECT ctid FROM plan_kpis WHERE plan_id = 'plan-00003' ORDER BY version, name LIMIT 1)
       RETURNING plan_id, version, name`,
    );
    const event = await one<{ plan_id: string; version: number; seq: number }>(
      db,
      `UPDATE plan_events SET actor = 'mallory' WHERE ctid = (SELECT ctid FROM plan_events WHERE plan_id = 'plan-00004' ORDER BY version, seq LIMIT 1)
       RETURNING plan_id, version, seq`,
    );
    const result = await v.run();
    expect(result.passed).toBe(false);
    expect(result).toEqual(
      expect.objectContaining({ versionsChecked: VALID, mismatches: 3, matches: VALID - 3, missingInRepository: 0, extraInRepository: 0 }),
    );
    const byPlan = Object.fromEntries(result.firstMismatches.map((m) => [m.planId, m]));
    const expected = [
      [series, `series[${series.item}|${series.location}|${series.period}|${series.metric}].value`],
      [kpi, `kpis[${kpi.name}].unit`],
      [event, `events[${event.seq}].actor`],
    ] as const;
    for (const [key, field] of expected) {
      const m = byPlan[key.plan_id];
      expect(m).toEqual(expect.objectContaining({ version: key.version, differs: ['readBack'] }));
      // The backfill stored the legacy checksum; only the rows read back differ from it.
      expect(m.stored).toBe(m.legacy);
      expect(m.differences.map((d) => d.field)).toEqual([field]);
    }
    expect(byPlan[event.plan_id].differences[0]).toEqual(expect.objectContaining({ repository: 'mallory' }));
    expect(result.problems[0]).toMatch(/^3 checksum mismatches \(first: plan-0000\d v\d\)$/);
  });

  test('a deleted version is missing from the repository; the counts say so too', async () => {
    await db.pool.query(`DELETE FROM plan_versions WHERE plan_id = 'plan-00005' AND version = 2`);
    const result = await v.run();
    expect(result).toEqual(expect.objectContaining({ passed: false, missingInRepository: 1, versionsChecked: VALID - 1, mismatches: 0 }));
    expect(result.firstMissing).toEqual([expect.objectContaining({ planId: 'plan-00005', version: 2, artifactId: expect.any(Number) })]);
    expect(result.counts.plan_versions).toEqual({ expected: VALID, actual: VALID - 1 });
    expect(result.problems).toEqual(
      expect.arrayContaining([
        '1 valid legacy versions missing from the repository (first: plan-00005 v2)',
        `plan_versions: ${VALID - 1} rows, expected ${VALID}`,
      ]),
    );
  });

  test('repository versions without a valid legacy artifact are extra: no artifact, or a rejected one', async () => {
    const rejected = await one<{ plan_id: string; version: number }>(
      db,
      `SELECT plan_id, version FROM plan_artifacts a
        WHERE NOT EXISTS (SELECT 1 FROM plan_versions v WHERE v.plan_id = a.plan_id AND v.version = a.version) ORDER BY id LIMIT 1`,
    );
    for (const [planId, version] of [
      ['plan-00001', 99],
      [rejected.plan_id, rejected.version],
    ] as const) {
      await db.pool.query(
        `INSERT INTO plan_versions (plan_id, version, name, status, summary, source_checksum) VALUES ($1, $2, 'x', 'draft', '{}', repeat('0', 64))`,
        [planId, version],
      );
    }
    const result = await v.run();
    expect(result).toEqual(expect.objectContaining({ passed: false, extraInRepository: 2, mismatches: 0, missingInRepository: 0 }));
    expect(result.firstExtra).toEqual(
      expect.arrayContaining([
        { planId: 'plan-00001', version: 99, why: 'no_legacy_artifact' },
        { planId: rejected.plan_id, version: rejected.version, why: 'legacy_rejected' },
      ]),
    );
    // plan-00001's newest version is now 99, which its plans row does not say.
    expect(result.firstPlansInconsistent.map((p) => p.planId)).toContain('plan-00001');
  });

  test('a sampled verify checks the same versions every time, about the fraction; counts stay exact', async () => {
    const keys = (await db.pool.query<{ plan_id: string; version: number }>(`SELECT plan_id, version FROM plan_versions`)).rows;
    const inSample = keys.filter((k) => isSampled(k.plan_id, k.version, 0.5));
    expect(inSample.length).toBeGreaterThan(VALID * 0.2);
    expect(inSample.length).toBeLessThan(VALID * 0.8);
    const outside = keys.find((k) => !isSampled(k.plan_id, k.version, 0.5))!;
    for (const k of [inSample[0], outside]) {
      await db.pool.query(`UPDATE plan_series SET value = value * 2 + 1 WHERE plan_id = $1 AND version = $2`, [k.plan_id, k.version]);
    }
    const first = await v.run({ sample: 0.5 });
    const again = await v.run({ sample: 0.5 });
    expect(first).toEqual(
      expect.objectContaining({ sample: 0.5, versionsChecked: inSample.length, mismatches: 1, versionsExpected: VALID }),
    );
    expect(first.firstMismatches.map((m) => [m.planId, m.version])).toEqual([[inSample[0].plan_id, inSample[0].version]]);
    expect({ ...again, seconds: 0 }).toEqual({ ...first, seconds: 0 });
    const full = await v.run({ sample: 'all' });
    expect(full.mismatches).toBe(2);
    expect(first.counts).toEqual(full.counts);
  });

  test('compares three or more representative plans in full detail, picked for versions, series, events and id', async () => {
    const result = await v.run({ representativePlans: 4 });
    const picked = result.representative.map((r) => r.planId);
    expect(picked.slice(0, 3)).toEqual(['plan-00001', RICH, 'plan-00002']);
    expect(new Set(picked).size).toBe(4);
    const rich = result.representative[1];
    expect(rich.chosenFor.map((c) => c.criterion)).toEqual(['most_series', 'most_events', 'last_plan']);
    for (const r of result.representative) {
      expect(r).toEqual(expect.objectContaining({ equal: true, differences: [] }));
      expect(r.legacy).toEqual(
        expect.objectContaining({
          name: expect.any(String),
          status: expect.any(String),
          seriesCount: expect.any(Number),
          seriesChecksum: expect.stringMatching(/^[0-9a-f]{64}$/),
        }),
      );
    }
    expect(rich.legacy).toEqual(expect.objectContaining({ runId: expect.stringMatching(/^run-/), seriesCount: 30, eventsCount: 6 }));
    expect(rich.legacy!.kpis).toHaveLength(4);
    expect(rich.legacy!.events[0]).toEqual(expect.objectContaining({ seq: 0, at: expect.any(String), type: 'created' }));
    // The demo's newest versions are rejected documents: the newest valid one is compared.
    const p1 = result.representative[0];
    expect(p1.latestLegacyVersion).toBe(DEMO.versions + 2);
    expect(p1.version).toBe(DEMO.versions);

    await db.pool.query(`UPDATE plan_versions SET run_id = 'run-elsewhere' WHERE plan_id = $1`, [RICH]);
    await db.pool.query(`UPDATE plan_kpis SET value = value + 0.5 WHERE plan_id = $1`, [RICH]);
    const changed = await v.run({ representativePlans: 3 });
    const after = changed.representative.find((r) => r.planId === RICH)!;
    expect(after.equal).toBe(false);
    expect(after.differences[0]).toEqual({ field: 'runId', legacy: rich.legacy!.runId, repository: 'run-elsewhere' });
    expect(after.differences.filter((d) => d.field.startsWith('kpis['))).toHaveLength(4);
    expect(changed.passed).toBe(false);
    expect(changed.problems).toContainEqual(expect.stringMatching(/^representative plan plan-rich v1 differs: runId, kpis\[/));
  });

  test('verifies another database on the same server (a restored copy) without exposing the URL', async () => {
    const other = await backfilled();
    try {
      await other.pool.query(`DELETE FROM plan_versions WHERE plan_id = 'plan-00006' AND version = 1`);
      const result = await v.run({ database: other.name });
      expect(result).toEqual(expect.objectContaining({ database: other.name, passed: false, missingInRepository: 1 }));
      expect((await v.run()).passed).toBe(true);
    } finally {
      await other.drop();
    }
    const gone: unknown = await v.run({ database: other.name }).catch((e) => e);
    expect(gone).toBeInstanceOf(ApplicationFailure);
    expect(gone).toEqual(expect.objectContaining({ type: 'UnknownDatabase', nonRetryable: true }));
    expect((gone as Error).message).toBe(`database ${other.name} of dev does not exist`);
    const bad: unknown = await v.run({ database: 'x; DROP TABLE plans' }).catch((e) => e);
    expect(bad).toEqual(expect.objectContaining({ type: 'InvalidInput', nonRetryable: true }));
  });
});

describe('verify activity HTTP checks', () => {
  let db: TestDatabase;
  let server: http.Server;
  let base: string;
  const requests: string[] = [];
  const broken = new Set<string>();

  beforeAll(async () => {
    db = await backfilled();
    // Stands in for the planning application's /plans API: the application is a third party to plandb.
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const known = /^\/app\/plans\/([^/]+)$/.exec(req.url ?? '');
      const planId = known ? decodeURIComponent(known[1]) : null;
      if (req.url === '/app/plans') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([{ id: 'plan-00001' }]));
      } else if (planId && broken.has(planId)) {
        res.writeHead(500).end('internal error');
      } else if (planId) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: planId, kpis: [] }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/app`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.drop();
  });

  test('GET /plans and /plans/<id> for each representative plan: 200 and the plan named', async () => {
    const v = verifier(db, { httpBaseUrl: `${base}/` });
    try {
      const result = await v.run();
      expect(result.passed).toBe(true);
      const plans = result.representative.map((r) => r.planId);
      expect(result.http.map((h) => h.url)).toEqual([`${base}/plans`, ...plans.map((p) => `${base}/plans/${p}`)]);
      expect(result.http.every((h) => h.ok && h.status === 200 && h.error === null)).toBe(true);
      expect(requests).toEqual(['/app/plans', ...plans.map((p) => `/app/plans/${p}`)]);

      broken.add(plans[1]);
      const failing = await v.run();
      expect(failing.passed).toBe(false);
      expect(failing.http.filter((h) => !h.ok)).toEqual([
        expect.objectContaining({ url: `${base}/plans/${plans[1]}`, status: 500, error: 'expected HTTP 200, got 500' }),
      ]);
      expect(failing.problems).toEqual([`HTTP check ${base}/plans/${plans[1]}: expected HTTP 200, got 500`]);
    } finally {
      await v.close();
    }
  });

  test('an unreachable application is a failed check, not an activity error', async () => {
    const v = verifier(db);
    try {
      const result = await v.run({ httpBaseUrl: 'http://127.0.0.1:9/app' });
      expect(result.passed).toBe(false);
      expect(result.http[0]).toEqual(
        expect.objectContaining({
          ok: false,
          status: null,
          error: expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:9\/app\/plans failed/),
        }),
      );
    } finally {
      await v.close();
    }
  });
});
