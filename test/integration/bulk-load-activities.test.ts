import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBulkLoadActivities } from '../../activities/bulk-load';
import { createTrimActivities } from '../../activities/trim';
import { createVerifyActivities } from '../../activities/verify';
import { repositoryCatalog } from '../../db/bulk-load';
import { BULK_STAGES } from '../../model/bulk-load';
import { activityDeps, backfillAll, openRun } from '../support/activities';
import { seededDatabase } from '../support/backfill';
import { testConfig } from '../support/config';
import type { TestDatabase } from '../support/database';
import { parseExposition, samplesOf } from '../support/prometheus-text';

const URL_VAR = 'PLANDB_T_BULK_URL';
const DEMO = { plans: 10, versions: 2, series: 3, seed: 4 };

describe('bulk-load activities', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await seededDatabase(DEMO);
  });
  afterEach(() => db?.drop());

  const depsWith = (backfill: Record<string, unknown> = {}) => {
    const deps = activityDeps(testConfig({ dev: { databaseUrlEnv: URL_VAR, backfill } }), { [URL_VAR]: db.url });
    return { deps, activities: createBulkLoadActivities(deps) };
  };
  const failureOf = async (promise: Promise<unknown>): Promise<ApplicationFailure> => {
    const err = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  };

  it('check, prepare, the batches, finish; trim and verify refuse meanwhile; a cancel during the build still finishes it', async () => {
    const { deps, activities } = depsWith({ bulkLoadMaintenanceWorkMem: '32MB' });
    const migrated = await repositoryCatalog(db.pool);
    let finish: Awaited<ReturnType<typeof activities.finishBulkLoad>> | undefined;
    const beats: unknown[] = [];
    try {
      await backfillAll(db.pool, 5, {
        afterCreate: async (runId) => {
          const input = { environment: 'dev', runId };
          expect(await activities.checkBulkLoad(input)).toEqual({
            eligible: true,
            reason: 'repository empty and unlocked; no other session is connected to the database',
            state: 'none',
            pendingRunId: null,
          });
          const prepared = await activities.prepareBulkLoad(input);
          expect(prepared).toMatchObject({ prepared: true });
          expect(prepared.dropped).toContain('plan_series.plan_series_version_fk');
          // Retries of both find the prepared state and go on with the bulk path.
          expect(await activities.prepareBulkLoad(input)).toMatchObject({ prepared: false, dropped: prepared.dropped });
          expect(await activities.checkBulkLoad(input)).toEqual({
            eligible: true,
            reason: `the bulk load of run ${runId} is already prepared`,
            state: 'prepared',
            pendingRunId: runId,
          });
        },
        beforeClose: async (runId) => {
          const trim = createTrimActivities(deps).trimCapacity({ environment: 'dev', maxRows: 1 });
          expect(await failureOf(trim)).toMatchObject({ type: 'BulkLoadPending', nonRetryable: true });
          const verify = createVerifyActivities(deps, { [URL_VAR]: db.url }).verify({ environment: 'dev' });
          expect((await failureOf(verify)).message).toMatch(/^verify refused: a bulk load of dev \(run .*\) is prepared/);

          const env = new MockActivityEnvironment();
          env.on('heartbeat', (details: unknown) => {
            beats.push(details);
            env.cancel();
          });
          finish = await env.run(activities.finishBulkLoad, { environment: 'dev', runId });
        },
      });
      expect(finish).toMatchObject({ cancelRequested: true });
      expect(finish!.steps.every((s) => s.outcome === 'built')).toBe(true);
      expect(beats.length).toBeGreaterThan(finish!.steps.length);
      expect(await repositoryCatalog(db.pool)).toEqual(migrated);

      const e = parseExposition(await deps.metrics.registry.metrics());
      const counts = Object.fromEntries(
        BULK_STAGES.map((stage) => [
          stage,
          samplesOf(e, 'plan_backfill_bulk_stage_seconds_count', { environment: 'dev', stage })[0]?.value,
        ]),
      );
      // No secondary index to rebuild: the migrations define none on these tables.
      expect(counts).toEqual({ prepare: 1, keys: 1, indexes: undefined, foreignKeys: 1 });

      // A later run finds a populated repository and keeps the per-batch path.
      await openRun(db.pool, 'next');
      expect(await activities.checkBulkLoad({ environment: 'dev', runId: 'next' })).toMatchObject({
        eligible: false,
        reason: expect.stringMatching(/^repository not empty: plans has rows/),
        state: 'none',
      });
    } finally {
      await deps.databases.close();
    }
  });

  it('backfill.bulkLoad "off" and dry runs keep the per-batch path', async () => {
    const off = depsWith({ bulkLoad: 'off' });
    const auto = depsWith();
    try {
      await openRun(db.pool, 'dry', { mode: 'dry-run' });
      expect(await off.activities.checkBulkLoad({ environment: 'dev', runId: 'dry' })).toMatchObject({
        eligible: false,
        reason: 'backfill.bulkLoad is "off" for dev',
      });
      expect(await auto.activities.checkBulkLoad({ environment: 'dev', runId: 'dry' })).toMatchObject({
        eligible: false,
        reason: 'a dry run writes nothing',
      });
    } finally {
      await off.deps.databases.close();
      await auto.deps.databases.close();
    }
  });

  it('a duplicate key fails finishBulkLoad non-retryably, naming table and key', async () => {
    const { deps, activities } = depsWith();
    try {
      await backfillAll(db.pool, 50, {
        afterCreate: async (runId) => {
          await activities.prepareBulkLoad({ environment: 'dev', runId });
        },
        beforeClose: async (runId) => {
          await db.pool.query(`INSERT INTO plan_series SELECT * FROM plan_series LIMIT 1`);
          const failure = await failureOf(activities.finishBulkLoad({ environment: 'dev', runId }));
          expect(failure).toMatchObject({ type: 'BulkLoadDuplicateKeyError', nonRetryable: true });
          expect(failure.message).toMatch(
            /^bulk load: plan_series has duplicate rows for plan_series_plan_id_version_item_location_period_metric_pk: Key \(plan_id, version, item, location, period, metric\)=\(plan-00001, 1, /,
          );
          expect(failure.details).toEqual([
            { table: 'plan_series', constraint: 'plan_series_plan_id_version_item_location_period_metric_pk' },
          ]);
        },
      });
    } finally {
      await deps.databases.close();
    }
  });
});
