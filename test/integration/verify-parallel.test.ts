import { ApplicationFailure } from '@temporalio/common';
import { createVerifyActivities } from '../../activities/verify';
import { createPool } from '../../db/connection';
import { verifyRepository, type VerificationProgress } from '../../db/verification';
import { LISTED_FINDINGS, type VerificationReport } from '../../transform/verification-report';
import { SEEDABLE_REJECT_REASONS } from '../../transform/demo-payloads';
import { activityDeps, backfilledDatabase } from '../support/activities';
import { waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';

const DEMO = { plans: 30, versions: 3, series: 3, bad: SEEDABLE_REJECT_REASONS.length, seed: 8 };
const URL_VAR = 'PLANDB_T_VERIFY_PARALLEL_URL';
/** Small batches, so that each part takes several and the fetch-ahead crosses part bounds. */
const BATCH = 4;

const timeless = (r: VerificationReport) => ({ ...r, seconds: 0 });

const INSERT_VERSION = `INSERT INTO plan_versions (plan_id, version, name, status, summary, source_checksum)
                        VALUES ($1, $2, 'x', 'draft', '{}', repeat('0', 64))`;

/** Changes a value in `n` versions, deletes one, adds one without an artifact and one whose artifact is rejected. */
async function injectFaults(db: TestDatabase, changed: number): Promise<void> {
  await db.pool.query(
    `UPDATE plan_series s SET value = value + 1 FROM (
       SELECT DISTINCT ON (plan_id, version) plan_id, version, item FROM plan_series ORDER BY plan_id, version, item LIMIT $1) f
      WHERE s.plan_id = f.plan_id AND s.version = f.version AND s.item = f.item`,
    [changed],
  );
  await db.pool.query(INSERT_VERSION, ['plan-00003', 99]);
  const rejected = await db.pool.query<{ plan_id: string; version: number }>(
    `SELECT plan_id, version FROM plan_artifacts a
      WHERE NOT EXISTS (SELECT 1 FROM plan_versions v WHERE v.plan_id = a.plan_id AND v.version = a.version) ORDER BY id DESC LIMIT 1`,
  );
  await db.pool.query(INSERT_VERSION, [rejected.rows[0].plan_id, rejected.rows[0].version]);
  await db.pool.query(`DELETE FROM plan_versions WHERE plan_id = 'plan-00027' AND version = 2`);
}

describe('parallel verify', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await backfilledDatabase(DEMO);
    await injectFaults(db, LISTED_FINDINGS + 10);
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('finds exactly the mismatches, missing and extra versions a serial verify does, listed in the same order', async () => {
    const serial = await verifyRepository(db.pool, { parallel: 1, batchSize: BATCH });
    expect(serial).toEqual(
      expect.objectContaining({ mismatches: LISTED_FINDINGS + 10, missingInRepository: 1, extraInRepository: 2, plansInconsistent: 2 }),
    );
    expect(serial.firstMismatches).toHaveLength(LISTED_FINDINGS);
    const ids = serial.firstMismatches.map((m) => m.artifactId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (const m of serial.firstMismatches) {
      expect(m.differs).toEqual(['readBack']);
      expect(m.differences.length).toBeGreaterThan(0);
      expect(m.differences.every((d) => d.field.endsWith('.value'))).toBe(true);
    }
    expect(serial.firstMissing).toEqual([expect.objectContaining({ planId: 'plan-00027', version: 2 })]);
    expect(serial.firstExtra.map((e) => e.why).sort()).toEqual(['legacy_rejected', 'no_legacy_artifact']);
    for (const parallel of [2, 3, 5]) {
      expect(timeless(await verifyRepository(db.pool, { parallel, batchSize: BATCH }))).toEqual(timeless(serial));
    }
    // More sessions than artifacts: the spare ones only take the counts and anti-joins.
    const tiny = await verifyRepository(db.pool, { parallel: 6, batchSize: 500 });
    expect(timeless(tiny)).toEqual(timeless(serial));
  });

  test('every part and every count sees the snapshot taken when the verify began', async () => {
    const before = await verifyRepository(db.pool, { parallel: 3, batchSize: BATCH });
    let wrote = false;
    const during = await verifyRepository(db.pool, {
      parallel: 3,
      batchSize: BATCH,
      onProgress: async () => {
        if (wrote) return;
        wrote = true;
        // Committed by another connection after every session started: none of them may see it.
        await db.pool.query(`INSERT INTO plan_artifacts (plan_id, version, payload) VALUES ('plan-00030', 50, '{}')`);
        for (const version of [50, 51]) await db.pool.query(INSERT_VERSION, ['plan-00030', version]);
      },
    });
    try {
      expect(timeless(during)).toEqual(timeless(before));
      const after = await verifyRepository(db.pool, { parallel: 3, batchSize: BATCH });
      expect(after.artifactsRead).toBe(before.artifactsRead + 1);
      expect(after.extraInRepository).toBe(before.extraInRepository + 2);
      expect(after.counts.plan_versions.actual).toBe(before.counts.plan_versions.actual + 2);
    } finally {
      await db.pool.query(`DELETE FROM plan_artifacts WHERE plan_id = 'plan-00030' AND version >= 50`);
      await db.pool.query(`DELETE FROM plan_versions WHERE plan_id = 'plan-00030' AND version >= 50`);
    }
  });

  test('an error in one part stops all of them and hands every connection back', async () => {
    const pool = createPool(db.url, { max: 3, applicationName: 'plandb-verify-stop' });
    try {
      const seen: VerificationProgress[] = [];
      const stop = new Error('stop here');
      const failed = verifyRepository(pool, {
        parallel: 3,
        batchSize: BATCH,
        onProgress: (p) => {
          seen.push(p);
          if (seen.length === 2) throw stop;
        },
      });
      await expect(failed).rejects.toBe(stop);
      // Each other part stops at its next batch at the latest; a full pass takes 26 batches.
      expect(seen.length).toBeLessThanOrEqual(2 + 2);
      expect(seen[0].cursors).toHaveLength(3);
      // Their connections were discarded, so no transaction of the snapshot stays open on the server.
      expect(pool.totalCount).toBe(0);
      const sessions = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'plandb-verify-stop'`;
      await waitFor(async () => (await db.pool.query<{ n: number }>(sessions)).rows[0].n === 0, 10_000, 'the backends to exit');
      expect((await verifyRepository(pool, { parallel: 3 })).mismatches).toBe(LISTED_FINDINGS + 10);
      await expect(verifyRepository(pool, { parallel: 4 })).rejects.toThrow(/needs a pool of at least 4 connections, this one holds 3/);
      await expect(verifyRepository(pool, { parallel: 0 })).rejects.toThrow(RangeError);
    } finally {
      await pool.end();
    }
  });

  test('the verify activity walks with the configured sessions and reports what a serial walk does', async () => {
    const env = { [URL_VAR]: db.url };
    const deps = activityDeps(testConfig({ dev: { databaseUrlEnv: URL_VAR, verify: { parallel: 4 } } }), env);
    const { verify } = createVerifyActivities(deps, env);
    try {
      const configured = await verify({ environment: 'dev' });
      const serial = await verify({ environment: 'dev', parallel: 1 });
      expect({ ...configured, seconds: 0 }).toEqual({ ...serial, seconds: 0 });
      expect(configured).toEqual(expect.objectContaining({ passed: false, mismatches: LISTED_FINDINGS + 10, missingInRepository: 1 }));
      const bad: unknown = await verify({ environment: 'dev', parallel: 33 }).catch((e) => e);
      expect(bad).toBeInstanceOf(ApplicationFailure);
      expect(bad).toEqual(expect.objectContaining({ type: 'InvalidInput', nonRetryable: true }));
    } finally {
      await deps.databases.close();
    }
  });
});
