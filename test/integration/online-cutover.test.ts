/**
 * The online cut-over: the backfill and its verify run with maintenance off; at the cut-over gate the
 * application has appended artifacts and changed payloads in place; after approval maintenance covers only
 * the final delta (new artifacts written, changed versions rewritten), its verify and the spot-check.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { getRun } from '../../db/backfill-runs';
import { getMigrationRun } from '../../db/migration-runs';
import { verifyRepository } from '../../db/verification';
import type { DeltaSummary, MaintenanceWindow, MigrationEvidence } from '../../model/migration';
import { approveUpdate } from '../../workflows/definitions';
import type { TestDatabase } from '../support/database';
import { startBackfill, waitFor } from '../support/backfill';
import { failureMessages } from '../support/failures';
import { startApplicationWrites, type LoadGeneratorCounts } from '../support/load-generator';
import {
  maintenanceEnabled,
  MIGRATION_DEMO,
  migrationFixture,
  MigrationFixture,
  startMigration,
  waitForMigration,
} from '../support/migration';

const ONLINE = {
  approval: { required: true, approvers: ['carol'], timeout: '1h' },
  maintenance: { mode: 'db-flag' },
  spotCheck: { required: true },
  cutover: 'online',
};

/** What the application does while the migration waits at the cut-over gate. */
async function applicationWrites(db: TestDatabase): Promise<{ appended: number; changed: number[]; touched: number }> {
  const ids = (sql: string) => db.pool.query<{ id: number }>(sql).then((r) => r.rows.map((row) => row.id));
  // Payloads changed in place: the latest versions of two plans renamed (their plans rows must follow), an older
  // version's series value changed.
  const renamed = await ids(
    `SELECT v.source_artifact_id AS id FROM plan_versions v JOIN plans p ON p.plan_id = v.plan_id AND p.latest_version = v.version
      ORDER BY p.plan_id LIMIT 2`,
  );
  const revalued = await ids(
    `SELECT v.source_artifact_id AS id FROM plan_versions v JOIN plans p ON p.plan_id = v.plan_id AND p.latest_version > v.version
      ORDER BY p.plan_id DESC LIMIT 1`,
  );
  await db.pool.query(`UPDATE plan_artifacts SET payload = jsonb_set(payload, '{name}', '"renamed in place"') WHERE id = ANY($1)`, [
    renamed,
  ]);
  await db.pool.query(`UPDATE plan_artifacts SET payload = jsonb_set(payload, '{series,0,value}', '4242.5') WHERE id = ANY($1)`, [
    revalued,
  ]);
  // Rewritten without a change: a new row version, the same content (the checksum decides, not the write).
  const touched = await db.pool.query(
    `UPDATE plan_artifacts SET payload = payload WHERE id = (SELECT max(source_artifact_id) FROM plan_versions WHERE source_artifact_id <> ALL($1))`,
    [[...renamed, ...revalued]],
  );
  // Appended, as the Plan creation API writes: new versions of two other plans, and three new plans.
  const appendedVersions = await db.pool.query(
    `INSERT INTO plan_artifacts (plan_id, version, payload, created_at)
     SELECT p.plan_id, (SELECT max(version) + 1 FROM plan_artifacts m WHERE m.plan_id = p.plan_id), a.payload, now() FROM plans p
       JOIN plan_artifacts a ON a.plan_id = p.plan_id AND a.version = p.latest_version
      ORDER BY p.plan_id DESC LIMIT 2`,
  );
  const appendedPlans = await db.pool.query(
    `INSERT INTO plan_artifacts (plan_id, version, payload, created_at)
     SELECT 'app-' || a.plan_id, a.version, a.payload, now() FROM plan_artifacts a
       JOIN plan_versions v ON v.source_artifact_id = a.id ORDER BY a.id LIMIT 3`,
  );
  return {
    appended: (appendedVersions.rowCount ?? 0) + (appendedPlans.rowCount ?? 0),
    changed: [...renamed, ...revalued].sort((a, b) => a - b),
    touched: touched.rowCount ?? 0,
  };
}

// No gates: the migration runs straight through while the application writes.
const LIVE = { maintenance: { mode: 'db-flag' }, cutover: 'online' };

const stepOf = (e: MigrationEvidence, name: string) => e.steps.filter((s) => s.name === name).at(-1)!;

describe('online cut-over', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    f = await migrationFixture({ online: ONLINE, live: LIVE });
  });
  afterAll(() => f?.close());

  test('maintenance covers only the final delta; appended and changed-in-place artifacts end in the repository', async () => {
    const db = f.dbs.online;
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'online' });
      await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol' }] });
      const atGate = await waitForMigration(handle, (e) => e.openGate === 'cutover', 'the cut-over gate');
      // The whole backfill and its verify ran with the application live.
      expect(atGate.steps.map((s) => s.name)).toEqual(['preflight', 'approval', 'backup', 'migrate', 'backfill', 'verify', 'approval']);
      expect(await maintenanceEnabled(db)).toBe(false);

      const writes = await applicationWrites(db);
      expect(writes.appended).toBeGreaterThan(0);
      expect(writes.changed.length).toBe(3);
      expect(writes.touched).toBe(1);

      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'cutover', approver: 'carol' }] });
      const atSpotCheck = await waitForMigration(handle, (e) => e.openGate === 'spot-check', 'the spot-check gate');
      expect(await maintenanceEnabled(db)).toBe(true);
      expect(atSpotCheck.cutover?.maintenanceWindow).toEqual(expect.objectContaining({ off: null }));
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'spot-check', approver: 'carol' }] });
      const done = (await handle.result()) as MigrationEvidence;

      expect(done.status).toBe('completed');
      expect(await maintenanceEnabled(db)).toBe(false);
      expect(done.steps.map((s) => s.name)).toEqual([
        'preflight',
        'approval',
        'backup',
        'migrate',
        'backfill',
        'verify',
        'approval',
        'pre-delta',
        'verify-pre-delta',
        'maintenance-on',
        'delta',
        'verify-delta',
        'spot-check',
        'maintenance-off',
        // Counting rows need not hold the application up: after maintenance.
        'record-capacity',
        'legacy-cutover',
      ]);

      // The pre-delta, still live after the gate: the appended artifacts, and exactly the versions whose payload changed.
      const pre = stepOf(done, 'pre-delta').output as DeltaSummary;
      const backfill = stepOf(done, 'backfill').output as { runId: string };
      expect(pre).toEqual(
        expect.objectContaining({
          newArtifacts: writes.appended,
          newVersions: writes.appended,
          changedVersions: writes.changed.length,
          // Rejected artifacts have no version to compare with: the delta reads (and records) them again.
          errorsCount: MIGRATION_DEMO.bad,
          // Only payloads no version was written from left PostgreSQL: not the unchanged ones, nor the one rewritten as it was.
          artifactsRead: writes.appended + writes.changed.length + MIGRATION_DEMO.bad,
        }),
      );
      expect(done.cutover?.preDelta).toEqual(pre);
      expect((await getRun(db.pool, pre.runId))!).toEqual(expect.objectContaining({ mode: 'delta', status: 'completed' }));
      // A delta's cursor walks changed artifacts only: no range continues from it.
      const resumed: unknown = await (
        await startBackfill(f.harness, { environment: 'online', resumeFrom: pre.runId })
      )
        .result()
        .catch((e: unknown) => e);
      expect(resumed).toBeInstanceOf(WorkflowFailedError);
      expect(failureMessages(resumed)).toMatch(`resumeFrom: run ${pre.runId} is an online cut-over delta, not a range run`);
      const rewritten = await db.pool.query<{ id: number }>(
        `SELECT source_artifact_id AS id FROM plan_versions WHERE backfill_run_id = $1 AND source_artifact_id <= $2 ORDER BY 1`,
        [pre.runId, pre.afterId],
      );
      expect(rewritten.rows.map((r) => r.id)).toEqual(writes.changed);
      const renamedPlans = await db.pool.query<{ name: string }>(
        `SELECT p.name FROM plans p JOIN plan_artifacts a ON a.plan_id = p.plan_id AND a.version = p.latest_version WHERE a.id = ANY($1)`,
        [writes.changed.slice(0, 2)],
      );
      expect(renamedPlans.rows.map((r) => r.name)).toEqual(['renamed in place', 'renamed in place']);
      const verifyPre = stepOf(done, 'verify-pre-delta').output as { passed: boolean; versionsExpected: number };
      expect(verifyPre).toEqual(expect.objectContaining({ passed: true, versionsExpected: writes.appended + writes.changed.length }));

      // Nothing was written since: the final delta under maintenance follows the pre-delta and finds nothing new.
      const delta = stepOf(done, 'delta').output as DeltaSummary;
      expect(delta).toEqual(
        expect.objectContaining({ afterId: pre.upToId, newArtifacts: 0, changedVersions: 0, artifactsRead: MIGRATION_DEMO.bad }),
      );
      expect(done.cutover?.delta).toEqual(delta);
      expect((await getRun(db.pool, delta.runId))!).toEqual(expect.objectContaining({ mode: 'delta', status: 'completed' }));
      const verifyDelta = stepOf(done, 'verify-delta').output as { passed: boolean; versionsExpected: number };
      expect(verifyDelta).toEqual(expect.objectContaining({ passed: true, versionsExpected: 0 }));

      // The whole repository now equals the legacy table.
      const full = await verifyRepository(db.pool, { parallel: 1 });
      expect(full).toEqual(expect.objectContaining({ mismatches: 0, missingInRepository: 0, extraInRepository: 0, plansInconsistent: 0 }));
      for (const c of Object.values(full.counts)) expect(c.actual).toBe(c.expected);

      // Maintenance went on after the backfill finished and the cut-over was approved, and its window is in the evidence.
      const backfillRun = (await getRun(db.pool, backfill.runId))!;
      const on = stepOf(done, 'maintenance-on');
      const off = stepOf(done, 'maintenance-off');
      expect(Date.parse(on.startedAt)).toBeGreaterThanOrEqual(Date.parse(backfillRun.finishedAt!));
      expect(Date.parse(on.startedAt)).toBeGreaterThanOrEqual(Date.parse(stepOf(done, 'verify').finishedAt!));
      const window = (off.output as { window: MaintenanceWindow }).window;
      expect(Date.parse(window.on)).toBeGreaterThanOrEqual(Date.parse(on.startedAt));
      expect(Date.parse(window.off!)).toBeGreaterThanOrEqual(Date.parse(window.on));
      expect(window.seconds).toBeCloseTo((Date.parse(window.off!) - Date.parse(window.on)) / 1000, 3);
      expect(done.cutover?.maintenanceWindow).toEqual(window);

      // The stored evidence (plan_migration_steps) holds the same, and the worker exports the window.
      const stored = (await getMigrationRun(db.pool, handle.workflowId))!;
      expect(stepOf(stored, 'pre-delta').output).toEqual(pre);
      expect(stepOf(stored, 'delta').output).toEqual(delta);
      expect((stepOf(stored, 'maintenance-off').output as { window: MaintenanceWindow }).window).toEqual(window);
      const gauge = await f.harness.metrics.migrationMaintenanceSeconds.get();
      expect(gauge.values.find((v) => v.labels.environment === 'online')?.value).toBeCloseTo(window.seconds!, 3);
    });
  });

  test('with the application writing throughout (appends and in-place updates), the repository ends equal to the legacy table', async () => {
    const db = f.dbs.live;
    // It honours the maintenance flag as the Plan creation API does, and the test stops it once maintenance is
    // on: the application writes through the backfill, its catch-up passes and the verify, then goes quiet.
    const app = await startApplicationWrites(db, { rate: 40, updateFraction: 0.3, connections: 2, series: 6, honourMaintenance: true });
    let writes: LoadGeneratorCounts | null = null;
    let done: MigrationEvidence;
    try {
      done = await f.harness.run(async () => {
        const handle = await startMigration(f.harness, { environment: 'live' });
        const result = handle.result() as Promise<MigrationEvidence>;
        await waitFor(async () => (await maintenanceEnabled(db)) || null, 60_000, 'maintenance on');
        writes = await app.stop();
        return result;
      });
    } finally {
      writes ??= await app.stop();
    }
    expect(done.status).toBe('completed');
    expect(await maintenanceEnabled(db)).toBe(false);
    expect(writes.insertedIds.length).toBeGreaterThan(0);
    expect(writes.updatedIds.length).toBeGreaterThan(0);
    const window = done.cutover!.maintenanceWindow!;
    const during = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM plan_artifacts WHERE id = ANY($1::int8[]) AND created_at >= $2::timestamptz`,
      [writes.insertedIds, window.on],
    );
    expect(during.rows[0].n).toBe(0);

    // The versions the application changed in place while the backfill ran were rewritten by the deltas, the
    // artifacts it appended written: the repository equals the legacy table.
    const pre = stepOf(done, 'pre-delta').output as DeltaSummary;
    const delta = stepOf(done, 'delta').output as DeltaSummary;
    expect(pre.changedVersions + delta.changedVersions).toBeGreaterThan(0);
    expect(delta.afterId).toBe(pre.upToId);
    const full = await verifyRepository(db.pool, { parallel: 1 });
    expect(full).toEqual(expect.objectContaining({ mismatches: 0, missingInRepository: 0, extraInRepository: 0, plansInconsistent: 0 }));
    for (const c of Object.values(full.counts)) expect(c.actual).toBe(c.expected);
  });
});
