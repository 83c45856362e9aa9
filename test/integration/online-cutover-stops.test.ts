/**
 * Every stop of an online cut-over leaves maintenance off and the run rows closed with a reason: a cancel
 * or a rejection at the cut-over gate, a failed pre-delta and a cancel while it writes (maintenance never
 * went on), a failed final delta (maintenance on) that is aborted, and a cancel while the final delta
 * writes. What the final delta finds lands as maintenance goes on — application writes in flight at the
 * flip — after the pre-delta took the rest.
 */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { getRun } from '../../db/backfill-runs';
import { getMigrationRun } from '../../db/migration-runs';
import { approveUpdate, decideSignal, rejectUpdate, statusQuery } from '../../workflows/definitions';
import { latestRun, waitFor } from '../support/backfill';
import type { TestDatabase } from '../support/database';
import { maintenanceEnabled, migrationFixture, MigrationFixture, startMigration, waitForMigration } from '../support/migration';

const ONLINE = {
  approval: { required: true, approvers: ['carol'], timeout: '1h' },
  maintenance: { mode: 'db-flag' },
  spotCheck: { required: true },
  cutover: 'online',
};

async function atCutoverGate(f: MigrationFixture, environment: string) {
  const handle = await startMigration(f.harness, { environment });
  await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
  await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol' }] });
  await waitForMigration(handle, (e) => e.openGate === 'cutover', 'the cut-over gate');
  expect(await maintenanceEnabled(f.dbs[environment])).toBe(false);
  return handle;
}

/** Application writes in flight at the flip: `insert` runs in the transaction that turns maintenance on (after the pre-delta). */
async function landingAtMaintenanceOn(db: TestDatabase, insert: string): Promise<void> {
  await db.pool.query(
    `CREATE FUNCTION test_late_writes() RETURNS trigger LANGUAGE plpgsql AS $f$
     BEGIN IF NEW.enabled THEN EXECUTE $q$${insert}$q$; END IF; RETURN NEW; END $f$`,
  );
  await db.pool.query(
    'CREATE TRIGGER test_late_writes AFTER INSERT OR UPDATE ON plan_db_maintenance FOR EACH ROW EXECUTE FUNCTION test_late_writes()',
  );
}

/** Five bad artifacts, more than a delta of the seeded table (10 bad already) may meet under maxErrors 12. */
const FIVE_BAD = `INSERT INTO plan_artifacts (plan_id, version, payload) SELECT 'bad-' || n, 1, '"not a document"'::jsonb FROM generate_series(1, 5) n`;
/** 400 valid artifacts: with one artifact a batch, a delta over them runs long enough to be cancelled mid-way. */
const MANY_LATE = `INSERT INTO plan_artifacts (plan_id, version, payload)
  SELECT 'late-' || n, 1, a.payload FROM generate_series(1, 400) n, (SELECT payload FROM plan_artifacts a
    JOIN plan_versions v ON v.source_artifact_id = a.id ORDER BY a.id LIMIT 1) a`;

/**
 * After the cut-over approval, the delta step `step` fails on too many errors and waits for a decision;
 * `abort` ends the migration. Returns whether maintenance was on while it waited, the failed run and the stored evidence.
 */
async function deltaFailsThenAbort(db: TestDatabase, handle: WorkflowHandle, step: 'pre-delta' | 'delta') {
  await handle.executeUpdate(approveUpdate, { args: [{ gate: 'cutover', approver: 'carol' }] });
  const failed = await waitForMigration(handle, (e) => e.status === 'waiting-decision', `the ${step} to fail`);
  expect(failed.steps.at(-1)).toEqual(
    expect.objectContaining({ name: step, status: 'failed', error: expect.stringMatching(/errors exceed maxErrors 12/) }),
  );
  const maintenanceWhileWaiting = await maintenanceEnabled(db);
  const run = (await latestRun(db))!;
  expect(run).toEqual(
    expect.objectContaining({ mode: 'delta', status: 'failed', closedReason: expect.stringMatching(/errors exceed maxErrors 12/) }),
  );

  await handle.signal(decideSignal, { action: 'abort', by: 'carol' });
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  expect(await maintenanceEnabled(db)).toBe(false);
  const stored = (await getMigrationRun(db.pool, handle.workflowId))!;
  expect(stored.status).toBe('aborted');
  expect((await getRun(db.pool, run.runId))!.status).toBe('failed');
  return { failed, maintenanceWhileWaiting, stored };
}

/** Waits for a delta run writing while maintenance is `on` (the final delta) or off (the pre-delta), cancels the migration, and returns the run once closed. */
async function cancelWhileDeltaWrites(db: TestDatabase, handle: WorkflowHandle, on: boolean) {
  await handle.executeUpdate(approveUpdate, { args: [{ gate: 'cutover', approver: 'carol' }] });
  const deltaRun = await waitFor(
    async () => {
      const run = await latestRun(db);
      return run?.mode === 'delta' && run.status === 'running' && run.artifactsRead > 0 && (await maintenanceEnabled(db)) === on
        ? run
        : null;
    },
    60_000,
    'the delta to write',
  );
  await handle.cancel();
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  expect(await maintenanceEnabled(db)).toBe(false);
  const closed = await waitFor(
    async () => {
      const run = (await getRun(db.pool, deltaRun.runId))!;
      return run.status === 'running' ? null : run;
    },
    30_000,
    'the delta run to close',
  );
  expect(closed.status).toBe('cancelled');
  expect(closed.closedReason).toEqual(expect.any(String));
  expect(closed.artifactsRead).toBeLessThan(400);
  const stored = (await getMigrationRun(db.pool, handle.workflowId))!;
  expect(stored.status).toBe('cancelled');
  return stored;
}

describe('stopping an online cut-over', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    f = await migrationFixture({
      occancel: ONLINE,
      ocreject: ONLINE,
      // The seeded table holds 10 bad artifacts: the backfill and the pre-delta pass, a delta that sees 5 more does not.
      ocfail: { ...ONLINE, backfill: { maxErrors: 12 } },
      ocprefail: { ...ONLINE, backfill: { maxErrors: 12 } },
      // One artifact a batch: a delta over the appended artifacts runs long enough to be cancelled mid-way.
      ocmidcancel: { ...ONLINE, backfill: { batchSize: 1 } },
      ocprecancel: { ...ONLINE, backfill: { batchSize: 1 } },
    });
  });
  afterAll(() => f?.close());

  test('cancel at the cut-over gate: CANCELLED, maintenance never on, the backfill run completed', async () => {
    await f.harness.run(async () => {
      const handle = await atCutoverGate(f, 'occancel');
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(await maintenanceEnabled(f.dbs.occancel)).toBe(false);
      const stored = (await getMigrationRun(f.dbs.occancel.pool, handle.workflowId))!;
      expect(stored.status).toBe('cancelled');
      expect(stored.stopReason).toBe('cancellation requested');
      expect(stored.steps.map((s) => s.name)).not.toContain('maintenance-on');
      expect(stored.compensations).toEqual([]);
      expect(stored.steps.at(-1)).toEqual(
        expect.objectContaining({ name: 'approval', status: 'failed', error: 'stopped: cancellation requested' }),
      );
      expect((await latestRun(f.dbs.occancel))!.status).toBe('completed');
    });
  });

  test('rejection at the cut-over gate: REJECTED, maintenance off, the reason recorded', async () => {
    await f.harness.run(async () => {
      const handle = await atCutoverGate(f, 'ocreject');
      await handle.executeUpdate(rejectUpdate, { args: [{ gate: 'cutover', approver: 'carol', comment: 'not tonight' }] });
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      expect(await maintenanceEnabled(f.dbs.ocreject)).toBe(false);
      const stored = (await getMigrationRun(f.dbs.ocreject.pool, handle.workflowId))!;
      expect(stored.status).toBe('rejected');
      expect(stored.stopReason).toBe('gate "cutover" rejected by carol: not tonight');
      expect(stored.steps.map((s) => s.name)).not.toContain('maintenance-on');
    });
  });

  test('a failed pre-delta waits for a decision with maintenance still off; abort ends it, the pre-delta run closed with its reason', async () => {
    const db = f.dbs.ocprefail;
    await f.harness.run(async () => {
      const handle = await atCutoverGate(f, 'ocprefail');
      // Written while the gate is open: the pre-delta, still live, sees them.
      await db.pool.query(FIVE_BAD);
      const { maintenanceWhileWaiting, stored } = await deltaFailsThenAbort(db, handle, 'pre-delta');
      expect(maintenanceWhileWaiting).toBe(false);
      expect(stored.steps.map((s) => s.name)).not.toContain('maintenance-on');
      expect(stored.compensations).toEqual([]);
      expect((await handle.query(statusQuery)).cutover?.maintenanceWindow ?? null).toBeNull();
    });
  });

  test('a failed delta waits for a decision with maintenance on; abort lifts it and the delta run stays closed with its reason', async () => {
    const db = f.dbs.ocfail;
    await f.harness.run(async () => {
      const handle = await atCutoverGate(f, 'ocfail');
      await landingAtMaintenanceOn(db, FIVE_BAD);
      const { failed, maintenanceWhileWaiting, stored } = await deltaFailsThenAbort(db, handle, 'delta');
      expect(failed.steps.map((s) => s.name).slice(-5)).toEqual(['approval', 'pre-delta', 'verify-pre-delta', 'maintenance-on', 'delta']);
      expect(maintenanceWhileWaiting).toBe(true);
      expect(stored.compensations).toEqual([expect.objectContaining({ name: 'maintenance-off', status: 'completed' })]);
      // The window closed when the compensation lifted maintenance.
      const window = (await handle.query(statusQuery)).cutover?.maintenanceWindow;
      expect(window?.off).toEqual(expect.any(String));
      expect(window?.seconds).toBeGreaterThanOrEqual(0);
    });
  });

  test('cancel while the pre-delta writes: CANCELLED, maintenance never on, the pre-delta run cancelled with its reason', async () => {
    const db = f.dbs.ocprecancel;
    await f.harness.run(async () => {
      const handle = await atCutoverGate(f, 'ocprecancel');
      // Appended while the gate is open: the pre-delta, still live, writes them one a batch.
      await db.pool.query(MANY_LATE);
      const stored = await cancelWhileDeltaWrites(db, handle, false);
      expect(stored.steps.map((s) => s.name)).not.toContain('maintenance-on');
      expect(stored.compensations).toEqual([]);
    });
  });

  test('cancel while the final delta writes: CANCELLED, maintenance lifted, the delta run cancelled with its reason', async () => {
    const db = f.dbs.ocmidcancel;
    await f.harness.run(async () => {
      const handle = await atCutoverGate(f, 'ocmidcancel');
      await landingAtMaintenanceOn(db, MANY_LATE);
      const stored = await cancelWhileDeltaWrites(db, handle, true);
      expect(stored.compensations).toEqual([expect.objectContaining({ name: 'maintenance-off', status: 'completed' })]);
    });
  });
});
