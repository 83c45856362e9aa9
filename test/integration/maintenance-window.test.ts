/**
 * Maintenance windows: the migration waits with a durable timer for the window before maintenance-on,
 * saying so in its status; a window too short for the work left stops before maintenance-on and asks for
 * a decision; a cancel while waiting leaves maintenance off and the run closed. Windows are a few seconds
 * from now, in UTC wall time with seconds.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { withClient } from '../../db/connection';
import { getMigrationRun } from '../../db/migration-runs';
import { WEEKDAYS } from '../../model/maintenance-window';
import { upgrade } from '../../db/migrator';
import type { MigrationEvidence } from '../../model/migration';
import { decideSignal } from '../../workflows/definitions';
import { renderEvidenceSummary } from '../../workflows/evidence-markdown';
import { waitFor } from '../support/backfill';
import {
  maintenanceEnabled,
  MIGRATION_DEMO,
  migrationFixture,
  MigrationFixture,
  startMigration,
  waitForMigration,
} from '../support/migration';

/** "HH:MM:SS" of a UTC instant. */
const wall = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const ARTIFACTS = MIGRATION_DEMO.plans * MIGRATION_DEMO.versions + MIGRATION_DEMO.bad;

/** A production-like environment: maintenance by the db flag, no gates, no backup. */
const PRODUCTION_LIKE = { maintenance: { mode: 'db-flag' }, backup: { enabled: false } };

/**
 * Sets the environment's window (as config/schema.ts resolves it) just before the migration starts, so the
 * time taken by the fixture's setup does not eat into a window a few seconds away.
 */
function setWindow(f: MigrationFixture, environment: string, hours: string, maxLengthMs: number | null = null) {
  f.config.environments[environment].maintenanceWindow = { timeZone: 'UTC', days: [...WEEKDAYS], hours, maxLengthMs };
}

const windowStep = (e: MigrationEvidence) => e.steps.filter((s) => s.name === 'maintenance-window').at(-1);

describe('maintenance windows', () => {
  let f: MigrationFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  test('waits for the window, showing "waiting for window (opens at …)", then turns maintenance on inside it and completes', async () => {
    f = await migrationFixture({ mwwait: PRODUCTION_LIKE });
    const fx = f;
    await withClient(fx.dbs.mwwait.pool, (c) => upgrade(c));
    const opensAt = Math.ceil((Date.now() + 20_000) / 1000) * 1000;
    setWindow(fx, 'mwwait', `${wall(opensAt)}-${wall(opensAt + 3_600_000)}`, 3_600_000);
    await fx.harness.run(async () => {
      const handle = await startMigration(fx.harness, { environment: 'mwwait' });
      const waiting = await waitForMigration(handle, (e) => e.status === 'waiting-window', 'the wait for the window');
      const opensLocal = `${new Date(opensAt).toISOString().slice(0, 19)}+00:00 UTC`;
      expect(windowStep(waiting)).toMatchObject({
        status: 'running',
        output: {
          opensAt: new Date(opensAt).toISOString(),
          opensAtLocal: opensLocal,
          inside: false,
          fits: true,
          pendingArtifacts: ARTIFACTS,
        },
      });
      expect(renderEvidenceSummary(waiting)).toContain(`waiting for window (opens at ${opensLocal}`);
      expect(await maintenanceEnabled(fx.dbs.mwwait)).toBe(false);
      // The wait is in the stored evidence while it lasts (written by the flush the query may answer before).
      await waitFor(
        async () => (await getMigrationRun(fx.dbs.mwwait.pool, handle.workflowId))?.status === 'waiting-window',
        10_000,
        'the stored wait',
      );

      const done = (await handle.result()) as MigrationEvidence;
      expect(done.status).toBe('completed');
      expect(done.steps.map((s) => s.name)).toEqual([
        'preflight',
        'migrate',
        'maintenance-window',
        'maintenance-on',
        'backfill',
        'verify',
        'record-capacity',
        'maintenance-off',
        'legacy-cutover',
      ]);
      const on = done.steps.find((s) => s.name === 'maintenance-on')!;
      expect(Date.parse(on.startedAt)).toBeGreaterThanOrEqual(opensAt);
      expect(windowStep(done)).toMatchObject({ status: 'completed', attempt: 1 });
      expect(await maintenanceEnabled(fx.dbs.mwwait)).toBe(false);
      const rows = await fx.dbs.mwwait.pool.query(
        `SELECT status FROM plan_migration_steps WHERE workflow_id = $1 AND name = 'maintenance-window' ORDER BY seq`,
        [handle.workflowId],
      );
      expect(rows.rows.map((r: { status: string }) => r.status)).toEqual(['running', 'waiting', 'completed']);
    });
  });

  test('a window too short for the work left: stops before maintenance-on and waits for a decision, maintenance off', async () => {
    // Open now for another 30 s, while the last measured rate (0.1 artifacts/s) needs minutes for the artifacts left.
    f = await migrationFixture({ mwshort: PRODUCTION_LIKE });
    const fx = f;
    await withClient(fx.dbs.mwshort.pool, (c) => upgrade(c));
    await fx.dbs.mwshort.pool.query(
      `INSERT INTO plan_backfill_runs (run_id, environment, mode, status, artifacts_total, artifacts_read, started_at, updated_at, finished_at)
       VALUES ($1, 'mwshort', 'normal', 'completed', 100, 100, now() - interval '1000 seconds', now(), now())`,
      [randomUUID()],
    );
    setWindow(fx, 'mwshort', `${wall(Date.now() - 60_000)}-${wall(Date.now() + 30_000)}`);
    await fx.harness.run(async () => {
      const handle = await startMigration(fx.harness, { environment: 'mwshort' });
      const stuck = await waitForMigration(handle, (e) => e.status === 'waiting-decision', 'the decision after the refused window');
      const step = windowStep(stuck)!;
      expect(step.status).toBe('failed');
      expect(step.error).toMatch(
        new RegExp(
          `the work left under maintenance \\(${ARTIFACTS} artifacts at 0\\.1 artifacts/s, from mwshort run .+\\) needs ~4m 10s, but the window .+ allows \\d+s; decide retry`,
        ),
      );
      expect(stuck.steps.some((s) => s.name === 'maintenance-on')).toBe(false);
      expect(renderEvidenceSummary(stuck)).toContain('**Step maintenance-window failed:**');
      expect(await maintenanceEnabled(fx.dbs.mwshort)).toBe(false);

      // Retry plans the window after the refused one: tomorrow's, as short for the same work.
      await handle.signal(decideSignal, { action: 'retry', by: 'carol' });
      const again = await waitForMigration(
        handle,
        (e) => e.status === 'waiting-decision' && windowStep(e)?.attempt === 2,
        'the second refusal',
      );
      const opening = (error: string | null) => Date.parse(/the window (\S+)/.exec(error ?? '')![1].replace(/\+00:00$/, 'Z'));
      expect(opening(windowStep(again)!.error) - opening(step.error)).toBe(86_400_000);
      expect(await maintenanceEnabled(fx.dbs.mwshort)).toBe(false);

      await handle.signal(decideSignal, { action: 'abort', by: 'carol', comment: 'next weekend' });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const stored = (await getMigrationRun(fx.dbs.mwshort.pool, handle.workflowId))!;
      expect(stored).toMatchObject({
        status: 'aborted',
        finishedAt: expect.any(String),
        stopReason: expect.stringMatching(/aborted by carol/),
      });
      expect(stored.steps.some((s) => s.name === 'maintenance-on')).toBe(false);
      expect(await maintenanceEnabled(fx.dbs.mwshort)).toBe(false);
    });
  });

  test('cancel while waiting for the window: cancelled, maintenance never on, the run closed', async () => {
    f = await migrationFixture({ mwcancel: PRODUCTION_LIKE });
    const fx = f;
    const opensAt = Date.now() + 2 * 3_600_000;
    setWindow(fx, 'mwcancel', `${wall(opensAt)}-${wall(opensAt + 3_600_000)}`);
    await fx.harness.run(async () => {
      const handle = await startMigration(fx.harness, { environment: 'mwcancel' });
      await waitForMigration(handle, (e) => e.status === 'waiting-window', 'the wait for the window');
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      const stored = (await getMigrationRun(fx.dbs.mwcancel.pool, handle.workflowId))!;
      expect(stored).toMatchObject({ status: 'cancelled', finishedAt: expect.any(String), stopReason: 'cancellation requested' });
      expect(stored.steps.at(-1)).toMatchObject({ name: 'maintenance-window', status: 'failed', error: 'stopped: cancellation requested' });
      // Maintenance was never turned on, so there was nothing to undo.
      expect(stored.compensations).toEqual([]);
      expect(await maintenanceEnabled(fx.dbs.mwcancel)).toBe(false);
    });
  });
});
