import crypto from 'node:crypto';
import fs from 'node:fs';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { getMigrationRun } from '../../db/migration-runs';
import { migrationStatus } from '../../db/migrator';
import type { MigrationEvidence, StepRecord } from '../../model/migration';
import { approveUpdate, decideSignal, rejectSignal, approveSignal } from '../../workflows/definitions';
import { renderEvidenceMarkdown } from '../../workflows/evidence-markdown';
import { runBackfill, waitFor } from '../support/backfill';
import {
  maintenanceEnabled,
  MIGRATION_DEMO,
  migrationFixture,
  MigrationFixture,
  startMigration,
  waitForMigration,
} from '../support/migration';
import { repositoryDigest } from '../support/repository';
import { withClient } from '../../db/connection';
import { upgrade } from '../../db/migrator';

const VALID = MIGRATION_DEMO.plans * MIGRATION_DEMO.versions;
const stepOf = (e: MigrationEvidence, name: string): StepRecord | undefined => e.steps.filter((s) => s.name === name).at(-1);
const causeOf = (err: unknown) => ((err as WorkflowFailedError).cause as Error | undefined)?.message ?? '';

/** The stored evidence says how the migration ended, and that maintenance was undone. */
async function expectStoppedEvidence(f: MigrationFixture, env: string, workflowId: string, status: string, reason: RegExp) {
  const stored = (await getMigrationRun(f.dbs[env].pool, workflowId))!;
  expect(stored).toEqual(expect.objectContaining({ status, finishedAt: expect.any(String), stopReason: expect.stringMatching(reason) }));
  expect(stored.compensations).toEqual([expect.objectContaining({ name: 'maintenance-off', status: 'completed' })]);
}

describe('environmentMigration: dev policy (environment mdev)', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    f = await migrationFixture({ mdev: { backfill: { mode: 'force' } } });
  });
  afterAll(() => f?.close());

  test('backup (0600, sha256), migrations at head, force backfill, verify passes, evidence complete', async () => {
    const evidence = (await f.harness.run(async () =>
      (await startMigration(f.harness, { environment: 'mdev' })).result(),
    )) as MigrationEvidence;
    expect(evidence.status).toBe('completed');
    expect(evidence.steps.map((s) => [s.name, s.status])).toEqual([
      ['preflight', 'completed'],
      ['backup', 'completed'],
      ['migrate', 'completed'],
      ['backfill', 'completed'],
      ['verify', 'completed'],
      ['record-capacity', 'completed'],
      ['legacy-cutover', 'completed'],
    ]);
    const backup = stepOf(evidence, 'backup')!.output as { location: string; sha256: string; bytes: number; verified: boolean };
    const stat = fs.statSync(backup.location);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(crypto.createHash('sha256').update(fs.readFileSync(backup.location)).digest('hex')).toBe(backup.sha256);
    expect(backup.verified).toBe(true);

    const status = await migrationStatus(f.dbs.mdev.pool);
    expect(status.atHead).toBe(true);
    expect((stepOf(evidence, 'migrate')!.output as { head: string }).head).toBe(status.head);
    expect(stepOf(evidence, 'backfill')!.output).toEqual(
      expect.objectContaining({ mode: 'force', versionsWritten: VALID, status: 'completed' }),
    );
    expect(stepOf(evidence, 'verify')!.output).toEqual(expect.objectContaining({ passed: true, mismatches: 0, missingInRepository: 0 }));
    expect(stepOf(evidence, 'record-capacity')!.output).toEqual(expect.objectContaining({ recommendedMaxRows: expect.any(Number) }));

    const stored = await getMigrationRun(f.dbs.mdev.pool, evidence.workflowId);
    expect(stored).toEqual(evidence);
    const md = renderEvidenceMarkdown(evidence);
    expect(md).toMatch(/# plandb migration evidence — mdev/);
    expect(md).toContain(backup.sha256);
  });
});

describe('environmentMigration: staging policy (environment mstaging)', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    f = await migrationFixture({
      mstaging: { approval: { required: true, approvers: ['alice', 'bob'], timeout: '1h' }, backfill: { sampleLimit: 5 } },
    });
  });
  afterAll(() => f?.close());

  test('sample dry-run, then the gate waits; outsiders are refused; a listed approver opens it; full run and verification follow', async () => {
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mstaging' });
      const waiting = await waitForMigration(handle, (e) => e.openGate === 'full-backfill', 'the full-backfill gate');
      expect(stepOf(waiting, 'sample-dry-run')!.output).toEqual(
        expect.objectContaining({ mode: 'dry-run', artifactsRead: 5, status: 'completed' }),
      );
      expect((await repositoryDigest(f.dbs.mstaging.pool)).plan_versions).toBe(0);
      // The rows say the same as the live query once the workflow's flush activity has run (the query
      // answers from workflow state a moment earlier): the CLI renders evidence from them.
      const row = await waitFor(
        async () => {
          const r = await getMigrationRun(f.dbs.mstaging.pool, handle.workflowId);
          return r?.openGate === 'full-backfill' ? r : null;
        },
        30_000,
        'the migration row to show the open gate',
      );
      expect(row).toEqual(expect.objectContaining({ status: 'waiting-approval', openGate: 'full-backfill', currentStep: 'approval' }));

      const outsider: unknown = await handle
        .executeUpdate(approveUpdate, { args: [{ gate: 'full-backfill', approver: 'mallory' }] })
        .catch((e) => e);
      expect(outsider).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(((outsider as WorkflowUpdateFailedError).cause as Error).message).toMatch(
        /"mallory" may not decide gate "full-backfill" \(allowed: alice, bob\)/,
      );
      const wrongGate: unknown = await handle
        .executeUpdate(approveUpdate, { args: [{ gate: 'spot-check', approver: 'alice' }] })
        .catch((e) => e);
      expect(((wrongGate as WorkflowUpdateFailedError).cause as Error).message).toMatch(/gate "spot-check" is not open/);
      // A signal cannot be refused: it is recorded and ignored.
      await handle.signal(approveSignal, { gate: 'full-backfill', approver: 'eve' });

      const approved = await handle.executeUpdate(approveUpdate, {
        args: [{ gate: 'full-backfill', approver: 'alice', comment: 'sample looks right' }],
      });
      expect(approved).toEqual(expect.objectContaining({ decision: 'approved', approver: 'alice' }));
      const evidence = (await handle.result()) as MigrationEvidence;
      expect(evidence.status).toBe('completed');
      expect(stepOf(evidence, 'backfill')!.output).toEqual(expect.objectContaining({ mode: 'normal', versionsWritten: VALID }));
      expect(stepOf(evidence, 'verify')!.output).toEqual(expect.objectContaining({ passed: true }));
      expect(evidence.approvals).toEqual([
        expect.objectContaining({ approver: 'eve', decision: 'refused' }),
        expect.objectContaining({ approver: 'alice', decision: 'approved', comment: 'sample looks right' }),
      ]);
    });
  });
});

describe('environmentMigration: production policy (environment mproduction)', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    f = await migrationFixture({
      mproduction: {
        approval: { required: true, approvers: ['carol'], timeout: '1h' },
        maintenance: { mode: 'db-flag' },
        backfill: { resume: true },
        spotCheck: { required: true },
      },
    });
  });
  afterAll(() => f?.close());

  test('approval, maintenance on through the backfill, spot-check gate, maintenance off, post-check watch', async () => {
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mproduction', postCheckHours: 0.001, postCheckInterval: '1s' });
      await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
      expect(await maintenanceEnabled(f.dbs.mproduction)).toBe(false);
      const waitingSince = async (gate: string) =>
        (await f.harness.metrics.migrationWaitingSince.get()).values.find(
          (v) => v.labels.environment === 'mproduction' && v.labels.gate === gate,
        )?.value;
      // Read from the database at scrape time: before the first schema migration there is nowhere to read the gate from.
      expect(await waitingSince('start')).toBeUndefined();
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol' }] });
      const atSpotCheck = await waitForMigration(handle, (e) => e.openGate === 'spot-check', 'the spot-check gate');
      expect(await maintenanceEnabled(f.dbs.mproduction)).toBe(true);
      // The gate's row is written by the flush right after the gate opened.
      expect(await waitFor(() => waitingSince('spot-check'), 30_000, 'the spot-check gate in the metrics')).toBe(
        Date.parse(atSpotCheck.steps.find((s) => s.name === 'spot-check')!.startedAt) / 1000,
      );
      await handle.executeUpdate(approveUpdate, {
        args: [{ gate: 'spot-check', approver: 'carol', comment: 'KPIs, events and run links checked' }],
      });
      const evidence = (await handle.result()) as MigrationEvidence;
      expect(evidence.status).toBe('completed');
      expect(evidence.steps.map((s) => s.name)).toEqual([
        'preflight',
        'approval',
        'backup',
        'migrate',
        'maintenance-on',
        'backfill',
        'verify',
        'record-capacity',
        'spot-check',
        'maintenance-off',
        'legacy-cutover',
        'post-check',
      ]);
      expect(stepOf(evidence, 'maintenance-on')!.output).toEqual(expect.objectContaining({ enabled: true }));
      expect(await maintenanceEnabled(f.dbs.mproduction)).toBe(false);
      // The gate's series is gone once it closed.
      expect(await waitingSince('spot-check')).toBeUndefined();
      const durations = (await f.harness.metrics.migrationStepDuration.get()).values.filter(
        (v) => v.metricName === 'plan_migration_step_duration_seconds_count' && v.labels.environment === 'mproduction' && v.value > 0,
      );
      expect(durations.map((v) => v.labels.step).sort()).toEqual([...new Set(evidence.steps.map((s) => s.name))].sort());
      const post = stepOf(evidence, 'post-check')!.output as {
        checks: number;
        baseline: { writeErrors: number };
        last: { writeErrors: number };
        legacyUsage: { since: unknown; writes: number; statementsAvailable: boolean };
      };
      expect(post.checks).toBeGreaterThanOrEqual(2);
      // The backfill's rejects counted before the watch began; nothing new since.
      expect(post.baseline.writeErrors).toBe(MIGRATION_DEMO.bad);
      expect(post.last.writeErrors).toBe(post.baseline.writeErrors);
      // The cut-over reading after maintenance-off, and the watch's legacy-usage report counted from it.
      const cutover = stepOf(evidence, 'legacy-cutover')!.output as { snapshotId: number; takenAt: string };
      expect(cutover).toEqual({ environment: 'mproduction', kind: 'cutover', snapshotId: expect.any(Number), takenAt: expect.any(String) });
      expect(post.legacyUsage).toEqual(
        expect.objectContaining({ since: { id: cutover.snapshotId, kind: 'cutover', at: cutover.takenAt }, writes: expect.any(Number) }),
      );
    });
  });
});

describe('environmentMigration: failures and decisions', () => {
  let f: MigrationFixture;
  beforeEach(async () => {
    f = await migrationFixture({ mprod: { maintenance: { mode: 'db-flag' } } });
    // A first backfill, then one repository value altered: the migration's normal backfill skips
    // everything (the stored checksums match the legacy) and verify must catch the altered row.
    await withClient(f.dbs.mprod.pool, (c) => upgrade(c));
    await runBackfill(f.harness, { environment: 'mprod' });
  });
  afterEach(() => f?.close());

  const alterOneSeriesValue = async () => {
    const row = (
      await f.dbs.mprod.pool.query(
        `SELECT plan_id, version, item, location, period, metric, value FROM plan_series ORDER BY 1, 2, 3, 4, 5, 6 LIMIT 1`,
      )
    ).rows[0];
    await f.dbs.mprod.pool.query(
      `UPDATE plan_series SET value = value + 1 WHERE plan_id = $1 AND version = $2 AND item = $3 AND location = $4 AND period = $5 AND metric = $6`,
      [row.plan_id, row.version, row.item, row.location, row.period, row.metric],
    );
    return row;
  };

  test('verify fails on an altered row and waits; decide retry after repairing passes', async () => {
    const row = await alterOneSeriesValue();
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mprod' });
      const waiting = await waitForMigration(handle, (e) => e.status === 'waiting-decision', 'the verify failure');
      expect(stepOf(waiting, 'verify')).toEqual(
        expect.objectContaining({
          status: 'failed',
          error: expect.stringMatching(/verification failed \(report \d+\): 1 checksum mismatches/),
        }),
      );
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(true);
      await f.dbs.mprod.pool.query(
        `UPDATE plan_series SET value = $7 WHERE plan_id = $1 AND version = $2 AND item = $3 AND location = $4 AND period = $5 AND metric = $6`,
        [row.plan_id, row.version, row.item, row.location, row.period, row.metric, row.value],
      );
      await handle.signal(decideSignal, { action: 'retry', by: 'dana' });
      const evidence = (await handle.result()) as MigrationEvidence;
      expect(evidence.status).toBe('completed');
      expect(evidence.steps.filter((s) => s.name === 'verify').map((s) => [s.status, s.attempt])).toEqual([
        ['failed', 1],
        ['completed', 2],
      ]);
      expect(evidence.decisions).toEqual([expect.objectContaining({ action: 'retry', by: 'dana', step: 'verify' })]);
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(false);
    });
  });

  test('decide rollback restores the backup and turns maintenance off', async () => {
    await alterOneSeriesValue();
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mprod' });
      await waitForMigration(handle, (e) => e.status === 'waiting-decision', 'the verify failure');
      const before = await repositoryDigest(f.dbs.mprod.pool);
      // Damage more after the backup: the rollback must bring back the backed-up state.
      await f.dbs.mprod.pool.query(`DELETE FROM plan_versions WHERE version = 1`);
      await handle.signal(decideSignal, { action: 'rollback', by: 'dana' });
      const err: unknown = await handle.result().catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(causeOf(err)).toMatch(/migration of mprod rolled-back/);
      expect(await repositoryDigest(f.dbs.mprod.pool)).toEqual(before);
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(false);
      const stored = (await getMigrationRun(f.dbs.mprod.pool, handle.workflowId))!;
      expect(stored.status).toBe('rolled-back');
      expect(stepOf(stored, 'rollback')).toEqual(expect.objectContaining({ status: 'completed' }));
    });
  });

  test('a rollback that cannot complete stops the migration failed, with maintenance off', async () => {
    await alterOneSeriesValue();
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mprod' });
      const waiting = await waitForMigration(handle, (e) => e.status === 'waiting-decision', 'the verify failure');
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(true);
      // The backup changed on disk since it was taken: the restore refuses it.
      const backup = stepOf(waiting, 'backup')!.output as { location: string };
      fs.appendFileSync(backup.location, 'tampered');
      await handle.signal(decideSignal, { action: 'rollback', by: 'dana' });
      const err: unknown = await handle.result().catch((e) => e);
      expect(causeOf(err)).toMatch(/migration of mprod failed: .*the rollback did not complete: .*refusing to restore it/);
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(false);
      await expectStoppedEvidence(f, 'mprod', handle.workflowId, 'failed', /the rollback did not complete/);
      expect(stepOf((await getMigrationRun(f.dbs.mprod.pool, handle.workflowId))!, 'rollback')).toEqual(
        expect.objectContaining({ status: 'failed' }),
      );
    });
  });

  test('decide abort turns maintenance off', async () => {
    await alterOneSeriesValue();
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mprod' });
      await waitForMigration(handle, (e) => e.status === 'waiting-decision', 'the verify failure');
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(true);
      await handle.signal(decideSignal, { action: 'abort', by: 'dana' });
      const err: unknown = await handle.result().catch((e) => e);
      expect(causeOf(err)).toMatch(/migration of mprod aborted: step verify failed/);
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(false);
      await expectStoppedEvidence(f, 'mprod', handle.workflowId, 'aborted', /step verify failed .*aborted by dana/);
    });
  });

  test('a gate timeout fails the migration with maintenance off', async () => {
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mprod', spotCheckRequired: true, approvalTimeout: '2s' });
      await waitForMigration(handle, (e) => e.openGate === 'spot-check', 'the spot-check gate');
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(true);
      const err: unknown = await handle.result().catch((e) => e);
      expect(causeOf(err)).toMatch(/gate "spot-check" timed out after 2s/);
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(false);
      await expectStoppedEvidence(f, 'mprod', handle.workflowId, 'timed-out', /gate "spot-check" timed out/);
    });
  });

  test('write errors growing during the post-check fail it and wait for a decision', async () => {
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mprod', postCheckHours: 0.01, postCheckInterval: '1s' });
      await waitForMigration(handle, (e) => e.currentStep === 'post-check', 'the post-check');
      // Errors keep coming while the watch runs (the first ones may land before it takes its baseline).
      const errors = setInterval(() => f.harness.metrics.writeErrorTotal.inc({ environment: 'mprod', reason: 'db_error' }), 300);
      const waiting = await waitForMigration(handle, (e) => e.status === 'waiting-decision', 'the post-check failure').finally(() =>
        clearInterval(errors),
      );
      expect(stepOf(waiting, 'post-check')!.error).toMatch(
        /plan_db_write_error_total grew from \d+ to \d+ during the post-check \(worker\)/,
      );
      await handle.signal(decideSignal, { action: 'abort', by: 'sre' });
      expect(causeOf(await handle.result().catch((e) => e))).toMatch(/aborted: step post-check failed/);
    });
  });

  test('a rejected gate stops the migration with maintenance off', async () => {
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mprod', spotCheckRequired: true });
      await waitForMigration(handle, (e) => e.openGate === 'spot-check', 'the spot-check gate');
      await handle.signal(rejectSignal, { gate: 'spot-check', approver: 'dana', comment: 'KPI mismatch on the UI' });
      const err: unknown = await handle.result().catch((e) => e);
      expect(causeOf(err)).toMatch(/gate "spot-check" rejected by dana: KPI mismatch on the UI/);
      expect(await maintenanceEnabled(f.dbs.mprod)).toBe(false);
      await expectStoppedEvidence(f, 'mprod', handle.workflowId, 'rejected', /rejected by dana: KPI mismatch/);
    });
  });
});
