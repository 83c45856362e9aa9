import pg from 'pg';
import {
  BulkLoadDataError,
  bulkLoadEligibility,
  BulkLoadRefusedError,
  bulkLoadState,
  finishBulkLoad,
  pendingBulkLoad,
  prepareBulkLoad,
  repositoryCatalog,
  type RepositoryCatalog,
} from '../../db/bulk-load';
import { setMaintenanceFlag } from '../../db/maintenance';
import { upgrade } from '../../db/migrator';
import { withClient } from '../../db/connection';
import { backfillAll, backfilledDatabase, openRun } from '../support/activities';
import { seededDatabase, waitFor } from '../support/backfill';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { repositoryDigest } from '../support/repository';

const DEMO = { plans: 12, versions: 3, series: 4, bad: 2, seed: 11 };

/** A session of someone else (the Plan creation API, an operator's psql) on the test database. */
async function otherSession(db: TestDatabase, applicationName = 'psql'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url, application_name: applicationName });
  await client.connect();
  return client;
}

const newRun = (db: TestDatabase, runId = 'bulk-run') => openRun(db.pool, runId);

/** What the migrations define for the child tables, and that prepare must have dropped. */
const CHILD_STRUCTURES = (catalog: RepositoryCatalog) => [
  ...catalog.constraints.filter((c) => ['plan_series', 'plan_kpis', 'plan_events'].includes(c.table) || c.type === 'u').map((c) => c.name),
  ...catalog.indexes.filter((i) => ['plan_series', 'plan_kpis', 'plan_events'].includes(i.table)).map((i) => i.name),
];

describe('bulk load: catalog', () => {
  let db: TestDatabase;
  let migrated: RepositoryCatalog;
  beforeEach(async () => {
    db = await seededDatabase(DEMO);
    migrated = await repositoryCatalog(db.pool);
  });
  afterEach(() => db?.drop());

  it('prepare, the per-batch writer, finish: the catalog is the migrated one and the data is that of the per-batch path', async () => {
    // The migrations define these; if they change, the bulk path must still restore them.
    expect(migrated.constraints.map((c) => `${c.table}.${c.name}:${c.type}`)).toEqual(
      expect.arrayContaining([
        'plan_series.plan_series_plan_id_version_item_location_period_metric_pk:p',
        'plan_series.plan_series_version_fk:f',
        'plan_kpis.plan_kpis_version_fk:f',
        'plan_events.plan_events_version_fk:f',
        'plan_versions.plan_versions_source_artifact_id_unique:u',
      ]),
    );
    let steps: Awaited<ReturnType<typeof finishBulkLoad>>['steps'] = [];
    // Two shards, written one after the other, as the sharded workflow's chunks do.
    await backfillAll(db.pool, 7, {
      shards: 2,
      afterCreate: async (runId) => {
        const prepared = await prepareBulkLoad(db.pool, runId);
        expect(prepared.prepared).toBe(true);
        expect(await bulkLoadState(db.pool)).toBe('prepared');
        const during = await repositoryCatalog(db.pool);
        const left = [...during.constraints.map((c) => c.name), ...during.indexes.map((i) => i.name)];
        for (const name of CHILD_STRUCTURES(migrated)) expect(left).not.toContain(name);
        // Kept: the writer's ON CONFLICT on plans and its checksum lookup on plan_versions need them.
        expect(left).toEqual(
          expect.arrayContaining(['plans_pkey', 'plan_versions_plan_id_version_pk', 'plan_versions_plan_id_plans_plan_id_fk']),
        );
      },
      beforeClose: async () => {
        steps = (await finishBulkLoad(db.pool, { maintenanceWorkMem: '64MB' })).steps;
      },
    });
    expect(steps.map((s) => `${s.stage}:${s.table}.${s.name}:${s.outcome}`).sort()).toEqual(
      [
        'keys:plan_events.plan_events_plan_id_version_seq_pk:built',
        'keys:plan_kpis.plan_kpis_plan_id_version_name_pk:built',
        'keys:plan_series.plan_series_plan_id_version_item_location_period_metric_pk:built',
        'keys:plan_versions.plan_versions_source_artifact_id_unique:built',
        'foreignKeys:plan_events.plan_events_version_fk:built',
        'foreignKeys:plan_kpis.plan_kpis_version_fk:built',
        'foreignKeys:plan_series.plan_series_version_fk:built',
      ].sort(),
    );
    expect(await repositoryCatalog(db.pool)).toEqual(migrated);
    expect(await bulkLoadState(db.pool)).toBe('none');
    // A second finish finds nothing pending.
    expect(await finishBulkLoad(db.pool)).toEqual({ runId: null, steps: [] });

    const perBatch = await backfilledDatabase(DEMO);
    try {
      const digest = await repositoryDigest(db.pool);
      expect(digest.plan_series).toBeGreaterThan(100);
      expect(digest).toEqual(await repositoryDigest(perBatch.pool));
    } finally {
      await perBatch.drop();
    }
  });

  it('prepare is one transaction: a failure after its drops leaves the schema untouched', async () => {
    await expect(prepareBulkLoad(db.pool, 'no-such-run')).rejects.toThrow(BulkLoadRefusedError);
    expect(await repositoryCatalog(db.pool)).toEqual(migrated);
    expect(await bulkLoadState(db.pool)).toBe('none');
  });

  it('prepare run twice is a no-op the second time, also for another run', async () => {
    const runId = await newRun(db);
    const first = await prepareBulkLoad(db.pool, runId);
    const after = await repositoryCatalog(db.pool);
    const second = await prepareBulkLoad(db.pool, runId);
    expect(second).toEqual({ prepared: false, runId, objects: first.objects });
    expect(await repositoryCatalog(db.pool)).toEqual(after);
    await db.pool.query(`UPDATE plan_backfill_runs SET status = 'failed'`);
    expect((await prepareBulkLoad(db.pool, await newRun(db, 'other-run'))).runId).toBe(runId);
    await finishBulkLoad(db.pool);
    expect(await repositoryCatalog(db.pool)).toEqual(migrated);
  });

  it('prepare refuses a repository that is not empty, and drops nothing', async () => {
    const runId = await newRun(db);
    await db.pool.query(`INSERT INTO plans (plan_id, latest_version) VALUES ('p', 1)`);
    await expect(prepareBulkLoad(db.pool, runId)).rejects.toThrow('repository not empty: plans has rows');
    expect(await repositoryCatalog(db.pool)).toEqual(migrated);
  });
});

/** Versions and many series rows straight in SQL, enough for an index build that is still running when it is stopped. */
async function loadRows(db: TestDatabase, plans: number, seriesPerVersion: number): Promise<void> {
  await db.pool.query(`INSERT INTO plans (plan_id, latest_version) SELECT 'p' || g, 1 FROM generate_series(1, $1::int) g`, [plans]);
  await db.pool.query(
    `INSERT INTO plan_versions (plan_id, version, source_artifact_id, source_checksum) SELECT 'p' || g, 1, g, repeat('0', 64) FROM generate_series(1, $1::int) g`,
    [plans],
  );
  await db.pool.query(
    `INSERT INTO plan_series (plan_id, version, item, location, period, metric, value)
     SELECT 'p' || p, 1, 'item-' || s, 'loc', '2026-01', 'units', s FROM generate_series(1, $1::int) p, generate_series(1, $2::int) s`,
    [plans, seriesPerVersion],
  );
  await db.pool.query(
    `INSERT INTO plan_kpis (plan_id, version, name, value) SELECT 'p' || g, 1, 'margin', g FROM generate_series(1, $1::int) g`,
    [plans],
  );
}

describe('bulk load: interrupted builds', () => {
  let db: TestDatabase;
  let migrated: RepositoryCatalog;
  beforeEach(async () => {
    db = await createTestDatabase();
    await withClient(db.pool, (c) => upgrade(c));
    migrated = await repositoryCatalog(db.pool);
    await prepareBulkLoad(db.pool, await newRun(db));
  });
  afterEach(() => db?.drop());

  const invalidIndexes = async () => (await repositoryCatalog(db.pool)).indexes.filter((i) => !i.valid);

  it('a backend terminated during CREATE INDEX: finish again completes, redoing only what is missing', async () => {
    await loadRows(db, 200, 500);
    // Someone's lock holds the plan_series build inside its CREATE INDEX, where it is terminated.
    const blocker = await otherSession(db);
    try {
      await blocker.query(`BEGIN; LOCK TABLE plan_series IN ROW EXCLUSIVE MODE`);
      const finishing = finishBulkLoad(db.pool, { parallel: 2 }).then(
        () => null,
        (err: unknown) => err,
      );
      const pid = await waitFor(
        async () =>
          (
            await db.pool.query<{ pid: number }>(
              `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.relation = 'plan_series'::regclass AND NOT l.granted AND a.query LIKE 'CREATE UNIQUE INDEX%'`,
            )
          ).rows[0]?.pid,
        30_000,
        'the plan_series key build to wait',
      );
      await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
      const err = (await finishing) as Error & { code?: string };
      expect(err).toBeInstanceOf(Error);
      expect(err.code ?? err.message).toMatch(/57P01|terminat/);
      await blocker.query('ROLLBACK');
    } finally {
      await blocker.end();
    }
    expect(await bulkLoadState(db.pool)).toBe('building');
    const names = (await repositoryCatalog(db.pool)).constraints.map((c) => c.name);
    expect(names).not.toContain('plan_series_plan_id_version_item_location_period_metric_pk');

    const again = await finishBulkLoad(db.pool);
    const series = again.steps.find((s) => s.name === 'plan_series_plan_id_version_item_location_period_metric_pk');
    expect(series).toMatchObject({ outcome: 'built', found: 'nothing' });
    // The builds the crash did not reach were done by the first finish and are skipped now.
    expect(again.steps.filter((s) => s.outcome === 'skipped').length).toBeGreaterThan(0);
    expect(await repositoryCatalog(db.pool)).toEqual(migrated);
    expect(await invalidIndexes()).toEqual([]);
    expect(await bulkLoadState(db.pool)).toBe('none');
  });

  it('a throw from the step callback between steps: finish again resumes from the catalog', async () => {
    await loadRows(db, 50, 10);
    let done = 0;
    const stop = new Error('worker lost');
    await expect(
      finishBulkLoad(db.pool, {
        parallel: 1,
        onStep: (step) => {
          if (step.outcome === 'built' && ++done === 3) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    expect(await bulkLoadState(db.pool)).toBe('building');
    const again = await finishBulkLoad(db.pool, { parallel: 1 });
    expect(again.steps.filter((s) => s.outcome === 'skipped')).toHaveLength(3);
    expect(again.steps.filter((s) => s.outcome === 'built')).toHaveLength(again.steps.length - 3);
    expect(await repositoryCatalog(db.pool)).toEqual(migrated);
  });

  it('a key whose index was built but not attached (a crash between the two) is attached, not rebuilt', async () => {
    await loadRows(db, 5, 2);
    const key = (await pendingBulkLoad(db.pool))!.record.objects.find((o) => o.name === 'plan_kpis_plan_id_version_name_pk')!;
    await db.pool.query(key.indexDef!);
    const done = await finishBulkLoad(db.pool);
    expect(done.steps.find((s) => s.name === key.name)).toMatchObject({ outcome: 'built', found: 'valid index' });
    expect(await repositoryCatalog(db.pool)).toEqual(migrated);
  });

  it('a duplicate key fails finish naming table and key; the rest is built, and an invalid index left later is redone', async () => {
    await loadRows(db, 20, 3);
    await db.pool.query(`INSERT INTO plan_kpis (plan_id, version, name, value) VALUES ('p7', 1, 'margin', 0)`);
    const err = (await finishBulkLoad(db.pool).catch((e: unknown) => e)) as BulkLoadDataError;
    expect(err).toBeInstanceOf(BulkLoadDataError);
    expect(err).toMatchObject({ name: 'BulkLoadDuplicateKeyError', table: 'plan_kpis', constraint: 'plan_kpis_plan_id_version_name_pk' });
    expect(err.message).toContain('Key (plan_id, version, name)=(p7, 1, margin) is duplicated');
    // Consistent: every other structure is back, nothing half-built is left, the bulk load is still pending.
    const now = await repositoryCatalog(db.pool);
    expect(now.constraints.filter((c) => c.validated).map((c) => c.name)).toEqual(
      migrated.constraints.map((c) => c.name).filter((n) => n !== 'plan_kpis_plan_id_version_name_pk'),
    );
    expect(await invalidIndexes()).toEqual([]);
    expect(await bulkLoadState(db.pool)).toBe('building');

    // An operator's CONCURRENTLY build over the duplicate fails and leaves an invalid index of the key's name.
    await expect(
      db.pool.query(`CREATE UNIQUE INDEX CONCURRENTLY plan_kpis_plan_id_version_name_pk ON plan_kpis (plan_id, version, name)`),
    ).rejects.toThrow(/could not create unique index/);
    expect((await invalidIndexes()).map((i) => i.name)).toEqual(['plan_kpis_plan_id_version_name_pk']);
    await db.pool.query(`DELETE FROM plan_kpis WHERE plan_id = 'p7' AND value = 0`);
    const again = await finishBulkLoad(db.pool);
    expect(again.steps.find((s) => s.name === 'plan_kpis_plan_id_version_name_pk')).toMatchObject({
      outcome: 'built',
      found: 'invalid index',
    });
    expect(await repositoryCatalog(db.pool)).toEqual(migrated);
  });
  it('a row without its version fails the foreign key naming table and key; removed, finish completes', async () => {
    await loadRows(db, 5, 2);
    await db.pool.query(`INSERT INTO plan_series VALUES ('p404', 1, 'i', 'l', 'p', 'm', 1)`);
    const err = (await finishBulkLoad(db.pool).catch((e: unknown) => e)) as BulkLoadDataError;
    expect(err).toBeInstanceOf(BulkLoadDataError);
    expect(err).toMatchObject({ name: 'BulkLoadOrphanRowsError', table: 'plan_series', constraint: 'plan_series_version_fk' });
    expect(err.message).toContain('Key (plan_id, version)=(p404, 1) is not present in table "plan_versions"');
    // The key is there, NOT VALID: the next finish validates it.
    expect((await repositoryCatalog(db.pool)).constraints.find((c) => c.name === 'plan_series_version_fk')).toMatchObject({
      validated: false,
    });
    await db.pool.query(`DELETE FROM plan_series WHERE plan_id = 'p404'`);
    const again = await finishBulkLoad(db.pool);
    expect(again.steps.find((s) => s.name === 'plan_series_version_fk')).toMatchObject({ outcome: 'built', found: 'not validated' });
    expect(await repositoryCatalog(db.pool)).toEqual(migrated);
  });
});

describe('bulk load: eligibility', () => {
  let db: TestDatabase;
  const others: pg.Client[] = [];
  beforeEach(async () => {
    db = await createTestDatabase();
    await withClient(db.pool, (c) => upgrade(c));
  });
  afterEach(async () => {
    await Promise.all(others.splice(0).map((c) => c.end()));
    await db?.drop();
  });
  const session = async (applicationName?: string) => {
    const client = await otherSession(db, applicationName);
    others.push(client);
    return client;
  };

  it('is eligible on an empty repository with no one else connected', async () => {
    expect(await bulkLoadEligibility(db.pool, 'dev')).toEqual({
      eligible: true,
      reason: 'repository empty and unlocked; no other session is connected to the database',
    });
  });

  const PLAN = `INSERT INTO plans (plan_id, latest_version) VALUES ('p', 1)`;
  const VERSION = `INSERT INTO plan_versions (plan_id, version, source_checksum) VALUES ('p', 1, repeat('0', 64))`;
  const rowsFor: Record<string, string[]> = {
    plans: [PLAN],
    plan_versions: [PLAN, VERSION],
    plan_series: [PLAN, VERSION, `INSERT INTO plan_series VALUES ('p', 1, 'i', 'l', 'p', 'm', 1)`],
    plan_kpis: [PLAN, VERSION, `INSERT INTO plan_kpis VALUES ('p', 1, 'k', 1)`],
    plan_events: [PLAN, VERSION, `INSERT INTO plan_events VALUES ('p', 1, 1, now(), 't')`],
  };
  it.each(Object.keys(rowsFor))('is not eligible when %s has a row', async (table) => {
    for (const sql of rowsFor[table]) await db.pool.query(sql);
    const { eligible, reason } = await bulkLoadEligibility(db.pool, 'dev');
    expect(eligible).toBe(false);
    expect(reason).toMatch(new RegExp(`^repository not empty: (.*, )?${table} has rows`));
  });

  it('is not eligible while another session holds a lock on plan_versions; plandb sessions do not count', async () => {
    const psql = await session('psql');
    await psql.query(`BEGIN; SELECT count(*) FROM plan_versions`);
    const pid = (await psql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await setMaintenanceFlag(db.pool, { enabled: true, reason: 'test', actor: 'test' });
    expect(await bulkLoadEligibility(db.pool, 'dev')).toEqual({
      eligible: false,
      reason: `another session uses the repository: pid ${pid} (application "psql", user ${(await db.pool.query('SELECT current_user AS u')).rows[0].u}) holds AccessShareLock on plan_versions`,
    });
    await psql.query('ROLLBACK');

    const plandb = await session('plandb-dev');
    await plandb.query(`BEGIN; SELECT count(*) FROM plan_versions`);
    expect(await bulkLoadEligibility(db.pool, 'dev')).toMatchObject({ eligible: true });
  });

  it('is not eligible while another session waits for a lock on plan_versions', async () => {
    const holder = await session('plandb-dev');
    await holder.query(`BEGIN; LOCK TABLE plan_versions IN ACCESS EXCLUSIVE MODE`);
    const waiter = await session('api');
    const waiting = waiter.query(`SELECT count(*) FROM plan_versions`);
    await waitFor(
      async () => (await db.pool.query(`SELECT 1 FROM pg_locks WHERE relation = 'plan_versions'::regclass AND NOT granted`)).rowCount,
      30_000,
      'the wait',
    );
    expect((await bulkLoadEligibility(db.pool, 'dev')).reason).toMatch(/application "api".* waits for AccessShareLock on plan_versions/);
    await holder.query('ROLLBACK');
    await waiting;
  });

  it('with another session connected: eligible only while maintenance is on', async () => {
    const api = await session('plans-api');
    const pid = (await api.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const off = await bulkLoadEligibility(db.pool, 'dev');
    expect(off.eligible).toBe(false);
    expect(off.reason).toMatch(
      new RegExp(
        `^maintenance is off for dev and 1 other session\\(s\\) are connected, so the Plan creation API may write: pid ${pid} \\(application "plans-api"`,
      ),
    );
    await setMaintenanceFlag(db.pool, { enabled: true, reason: 'first load', actor: 'test' });
    expect(await bulkLoadEligibility(db.pool, 'dev')).toEqual({
      eligible: true,
      reason: 'repository empty and unlocked; maintenance is on for dev',
    });
  });

  it('is not eligible while a bulk load is pending', async () => {
    await prepareBulkLoad(db.pool, await newRun(db));
    expect(await bulkLoadEligibility(db.pool, 'dev')).toEqual({
      eligible: false,
      reason: 'a bulk load prepared by run bulk-run is not finished: finish it first',
    });
  });
});
