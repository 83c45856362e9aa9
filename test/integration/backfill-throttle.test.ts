/**
 * The backfill's health throttle (backfill.throttle) against real PostgreSQL and Temporal: an operator
 * throttle query, and replication lag read on a real streaming replica whose replay is paused.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../runtime/embedded-postgres';
import { SEEDABLE_REJECT_REASONS } from '../../transform/demo-payloads';
import { BackfillResult, progressQuery } from '../../workflows/definitions';
import { latestRun, seededDatabase, startBackfill, waitFor } from '../support/backfill';
import { testConfig } from '../support/config';
import { TestDatabase } from '../support/database';
import { parseExposition, valueOf } from '../support/prometheus-text';
import { createTemporalHarness, TemporalHarness } from '../support/temporal';

const DEMO = { plans: 4, versions: 3, series: 4, bad: SEEDABLE_REJECT_REASONS.length, seed: 11 };
const TOTAL = DEMO.plans * DEMO.versions + DEMO.bad;
// Short chunks and waits, so the progress query shows a hold within seconds.
const RUN = { batchSize: 5, chunkBudgetMs: 1_500 };
const WAITS = { initialWait: '1s', maxWait: '2s' };

async function throttledSeconds(harness: TemporalHarness, reason: string): Promise<number> {
  return valueOf(parseExposition(await harness.metrics.registry.metrics()), 'plan_backfill_throttled_seconds_total', { environment: 'dev', reason });
}

/** Waits until the workflow reports a hold for `reason` for at least `seconds`; the run's cursor must not have moved. */
async function expectHeld(harness: TemporalHarness, db: TestDatabase, handle: Awaited<ReturnType<typeof startBackfill>>, reason: string) {
  const held = await waitFor(async () => {
    const p = await handle.query(progressQuery);
    return p.throttled && p.throttled.seconds >= 2 && p;
  }, 60_000, `a ${reason} hold`);
  expect(held.throttled).toEqual(expect.objectContaining({ reason }));
  expect(held.status).toBe('running');
  expect((await latestRun(db))?.cursor).toBe(0);
  expect(await throttledSeconds(harness, reason)).toBeGreaterThan(0);
}

describe('backfill throttle: the operator query', () => {
  let db: TestDatabase;
  let harness: TemporalHarness;

  beforeAll(async () => {
    db = await seededDatabase(DEMO);
    await db.pool.query(`CREATE TABLE throttle_flag (value int NOT NULL); INSERT INTO throttle_flag VALUES (1)`);
    const config = testConfig({
      dev: { databaseUrlEnv: 'PLANDB_T_THR_URL', backfill: { throttle: { query: 'SELECT value FROM throttle_flag', ...WAITS } } },
    });
    harness = await createTemporalHarness(config, { PLANDB_T_THR_URL: db.url });
  });
  afterAll(async () => {
    await harness?.close();
    await db?.drop();
  });

  test('a value of 1 holds the backfill (cursor still, reason "query"); 0 lets it complete', async () => {
    await harness.run(async () => {
      const handle = await startBackfill(harness, RUN);
      await expectHeld(harness, db, handle, 'query');
      expect(await throttledSeconds(harness, 'lock_waits')).toBe(0);

      await db.pool.query(`UPDATE throttle_flag SET value = 0`);
      const result = (await handle.result()) as BackfillResult;
      expect(result).toEqual(expect.objectContaining({ status: 'completed', artifactsRead: TOTAL, throttled: null }));
    });
  });
});
