/**
 * Every way a migration can stop leaves maintenance off and its run row closed with a reason:
 * cancellation (directly, and through a cancelled promotion), hostile signals, and terminate (which
 * runs no workflow code: the owner check lifts the flag).
 */
import { WorkflowFailedError } from '@temporalio/client';
import { withClient } from '../../db/connection';
import { getMaintenance } from '../../db/maintenance';
import { upgrade } from '../../db/migrator';
import { getMigrationRun } from '../../db/migration-runs';
import type { MigrationEvidence } from '../../model/migration';
import { approveSignal, approveUpdate, statusQuery } from '../../workflows/definitions';
import { getRun } from '../../db/backfill-runs';
import { seedDemo } from '../../db/seed';
import { latestRun, waitFor } from '../support/backfill';
import { maintenanceEnabled, migrationFixture, MigrationFixture, startMigration, waitForMigration } from '../support/migration';

/** Every message down the failure's cause chain, joined. */
const messageChain = (err: unknown): string => {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) out.push(e.message ?? '');
  return out.join(' <- ');
};

const PRODUCTION_LIKE = {
  approval: { required: true, approvers: ['carol'], timeout: '1h' },
  maintenance: { mode: 'db-flag' },
  spotCheck: { required: true },
};

/** Starts a production-like migration and waits at the spot-check gate, maintenance on. */
async function atSpotCheck(f: MigrationFixture, environment: string) {
  const handle = await startMigration(f.harness, { environment });
  await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
  await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol' }] });
  await waitForMigration(handle, (e) => e.openGate === 'spot-check', 'the spot-check gate');
  expect(await maintenanceEnabled(f.dbs[environment])).toBe(true);
  return handle;
}

describe('stopping a migration with maintenance on', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    f = await migrationFixture({
      mscancel: PRODUCTION_LIKE,
      msterm: PRODUCTION_LIKE,
      mspromo: PRODUCTION_LIKE,
      mschild: PRODUCTION_LIKE,
      msguard: PRODUCTION_LIKE,
    });
  });
  afterAll(() => f?.close());

  test('cancel (the Web UI\'s "Request Cancellation") ends CANCELED with maintenance off and the run closed', async () => {
    await f.harness.run(async () => {
      const handle = await atSpotCheck(f, 'mscancel');
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(await maintenanceEnabled(f.dbs.mscancel)).toBe(false);
      const stored = (await getMigrationRun(f.dbs.mscancel.pool, handle.workflowId))!;
      expect(stored.status).toBe('cancelled');
      expect(stored.finishedAt).not.toBeNull();
      expect(stored.stopReason).toBe('cancellation requested');
      expect(stored.compensations).toEqual([expect.objectContaining({ name: 'maintenance-off', status: 'completed' })]);
      expect(stored.steps.at(-1)).toEqual(
        expect.objectContaining({ name: 'spot-check', status: 'failed', error: 'stopped: cancellation requested' }),
      );
    });
  });

  test('cancel while the backfill child runs: the child is cancelled and closes its run, maintenance ends off', async () => {
    // Enough artifacts in small batches that the backfill is still running when the cancel comes.
    await seedDemo(f.dbs.mschild.pool, { plans: 200, versions: 5, series: 40, bad: 0, seed: 3 });
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mschild', batchSize: 5 });
      await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol' }] });
      const run = await waitFor(
        async () => {
          const r = await latestRun(f.dbs.mschild).catch(() => null); // no table before migrate
          return r && r.status === 'running' && r.artifactsRead > 0 ? r : null;
        },
        60_000,
        'the backfill to run',
      );
      expect(await maintenanceEnabled(f.dbs.mschild)).toBe(true);
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      const child = f.harness.client.workflow.getHandle(run.workflowId!);
      expect((await child.describe()).status.name).toBe('CANCELLED');
      const closed = (await getRun(f.dbs.mschild.pool, run.runId))!;
      expect(closed.status).toBe('cancelled');
      expect(closed.artifactsRead).toBeLessThan(closed.artifactsTotal);
      expect(await maintenanceEnabled(f.dbs.mschild)).toBe(false);
      const stored = (await getMigrationRun(f.dbs.mschild.pool, handle.workflowId))!;
      expect(stored.status).toBe('cancelled');
      expect(stored.steps.at(-1)).toEqual(expect.objectContaining({ name: 'backfill', status: 'failed' }));
    });
  });

  test('two migrations of one environment under different workflow ids: the second stops before changing anything', async () => {
    await withClient(f.dbs.msguard.pool, (c) => upgrade(c));
    await f.harness.run(async () => {
      const first = await startMigration(f.harness, { environment: 'msguard' });
      await waitForMigration(first, (e) => e.openGate === 'start', 'the first migration at its gate');
      const second = await startMigration(f.harness, { environment: 'msguard' });
      const err = await second.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(messageChain(err)).toMatch(new RegExp(`another migration of msguard is open: ${first.workflowId}`));
      expect((await first.query(statusQuery)).openGate).toBe('start');
      expect(await getMigrationRun(f.dbs.msguard.pool, second.workflowId)).toBeNull();
      await first.cancel();
      await expect(first.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    });
  });

  test('cancelling a promotion cancels its running migration, which lifts maintenance', async () => {
    await f.harness.run(async () => {
      const promotion = await f.harness.client.workflow.start('promotion', {
        workflowId: `plandb-promotion-${Date.now()}`,
        taskQueue: f.harness.taskQueue,
        args: [{ environments: ['mspromo'] }],
      });
      const childId = 'plandb-mspromo-migration';
      const child = f.harness.client.workflow.getHandle(childId);
      await waitFor(
        async () => ((await child.query(statusQuery).catch(() => null))?.openGate === 'start' ? true : null),
        60_000,
        'the child gate',
      );
      await child.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol' }] });
      await waitFor(
        async () => ((await child.query(statusQuery).catch(() => null))?.openGate === 'spot-check' ? true : null),
        60_000,
        'spot-check',
      );
      expect(await maintenanceEnabled(f.dbs.mspromo)).toBe(true);
      await promotion.cancel();
      await expect(promotion.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      expect((await promotion.describe()).status.name).toBe('CANCELLED');
      expect((await child.describe()).status.name).toBe('CANCELLED');
      expect(await maintenanceEnabled(f.dbs.mspromo)).toBe(false);
      expect((await getMigrationRun(f.dbs.mspromo.pool, childId))!.status).toBe('cancelled');
    });
  });

  test('terminate runs no code: the reconciler sees "maintenance on, owner not running" within a minute, closes the run and lifts it', async () => {
    await f.harness.run(async () => {
      const handle = await atSpotCheck(f, 'msterm');
      expect((await getMaintenance(f.dbs.msterm.pool)).ownerWorkflowId).toBe(handle.workflowId);
      const terminatedAt = Date.now();
      await handle.terminate('operator pressed Terminate');
      await waitFor(async () => ((await maintenanceEnabled(f.dbs.msterm)) ? null : true), 60_000, 'the reconciler to lift maintenance');
      expect(Date.now() - terminatedAt).toBeLessThan(60_000);
      const old = (await getMigrationRun(f.dbs.msterm.pool, handle.workflowId))!;
      expect(old.status).toBe('terminated');
      expect(old.finishedAt).not.toBeNull();
      expect(old.stopReason).toMatch(/ended as TERMINATED/);
      expect((await getMaintenance(f.dbs.msterm.pool)).reason).toMatch(/is not running \(TERMINATED\): lifted by plandb/);
      // The environment is free again: a new migration claims it.
      const next = await startMigration(f.harness, { environment: 'msterm' });
      await waitForMigration(next, (e) => e.openGate === 'start', 'the next start gate');
      await next.cancel();
      await expect(next.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    });
  });
});

describe('an execution timeout (no workflow code runs either)', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    f = await migrationFixture({ mstimeout: PRODUCTION_LIKE });
  });
  afterAll(() => f?.close());

  test('the reconciler closes the run timed-out and lifts maintenance', async () => {
    await f.harness.run(async () => {
      const handle = await f.harness.client.workflow.start('environmentMigration', {
        workflowId: `plandb-mstimeout-migration-${Date.now()}`,
        taskQueue: f.harness.taskQueue,
        args: [{ environment: 'mstimeout' }],
        workflowExecutionTimeout: '20s',
      });
      await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol' }] });
      await waitForMigration(handle, (e) => e.openGate === 'spot-check', 'the spot-check gate');
      expect(await maintenanceEnabled(f.dbs.mstimeout)).toBe(true);
      await waitFor(async () => ((await handle.describe()).status.name === 'TIMED_OUT' ? true : null), 60_000, 'the execution timeout');
      await waitFor(async () => ((await maintenanceEnabled(f.dbs.mstimeout)) ? null : true), 60_000, 'the reconciler to lift maintenance');
      const stored = (await getMigrationRun(f.dbs.mstimeout.pool, handle.workflowId))!;
      expect(stored.status).toBe('timed-out');
      expect(stored.stopReason).toMatch(/ended as TIMED_OUT/);
    });
  });
});

describe('hostile signals', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    f = await migrationFixture({
      mshostile: { approval: { required: true, approvers: ['carol'], timeout: '1h' }, maintenance: { mode: 'db-flag' } },
    });
  });
  afterAll(() => f?.close());

  test('a NUL in a refused signal and 25 refused 100 KB signals: evidence stays small, the gate still opens, maintenance ends off', async () => {
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mshostile' });
      await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
      await handle.signal(approveSignal, { gate: 'start', approver: 'mal\u0000lory', comment: 'nul\u0000here' });
      // Accepted approver, but the comment carries a NUL: refused too, never stored raw.
      await handle.signal(approveSignal, { gate: 'start', approver: 'carol', comment: 'ok\u0000' });
      const big = 'x'.repeat(100_000);
      for (let i = 0; i < 25; i++) await handle.signal(approveSignal, { gate: 'start', approver: `intruder-${i}`, comment: big });
      const waiting = await waitForMigration(handle, (e) => e.refusedSignals === 27, '27 refused signals');
      expect(waiting.openGate).toBe('start');
      expect(waiting.approvals).toHaveLength(10);
      expect(waiting.approvals[0]).toEqual(
        expect.objectContaining({ approver: 'mal\\u0000lory', comment: 'nul\\u0000here', decision: 'refused' }),
      );
      expect(waiting.approvals[1].note).toBe('"comment" contains control characters');
      expect(JSON.stringify(waiting).length).toBeLessThan(20_000);

      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol', comment: 'go' }] });
      const evidence = (await handle.result()) as MigrationEvidence;
      expect(evidence.status).toBe('completed');
      expect(await maintenanceEnabled(f.dbs.mshostile)).toBe(false);
      const stored = (await getMigrationRun(f.dbs.mshostile.pool, handle.workflowId))!;
      expect(stored.refusedSignals).toBe(27);
      expect(stored.approvals.filter((a) => a.decision === 'refused')).toHaveLength(10);
      expect(stored.approvals.at(-1)).toEqual(expect.objectContaining({ approver: 'carol', decision: 'approved', comment: 'go' }));
      // The history holds each signal once; nothing re-sends the evidence per transition.
      const history = await handle.fetchHistory();
      const activities = history
        .events!.filter((e) => e.activityTaskScheduledEventAttributes)
        .map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
      expect(activities.filter((n) => n === 'recordMigration').length).toBeLessThanOrEqual(activities.length / 2 + 2);
    });
  });

  test('an update with a NUL or an oversized comment is refused as non-retryable, naming the problem', async () => {
    await f.harness.run(async () => {
      const handle = await startMigration(f.harness, { environment: 'mshostile' });
      await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
      const nul = await handle
        .executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol', comment: 'a\u0000b' }] })
        .catch((e: unknown) => e);
      expect((nul as { cause?: { message?: string; nonRetryable?: boolean } }).cause).toEqual(
        expect.objectContaining({ message: '"comment" contains control characters', nonRetryable: true }),
      );
      const long = await handle
        .executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'carol', comment: 'y'.repeat(5000) }] })
        .catch((e: unknown) => e);
      expect((long as { cause?: { message?: string } }).cause?.message).toBe('"comment" is 5000 characters long (at most 1024)');
      expect((await handle.query(statusQuery)).refusedSignals).toBe(0);
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      expect((await getMigrationRun(f.dbs.mshostile.pool, handle.workflowId))!.status).toBe('cancelled');
    });
  });
});
