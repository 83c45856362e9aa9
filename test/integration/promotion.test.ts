import type { MigrationEvidence } from '../../model/migration';
import { approveUpdate, promotionStatusQuery, PromotionStatus } from '../../workflows/definitions';
import { waitFor } from '../support/backfill';
import { createActivities } from '../../activities';
import { activityDeps } from '../support/activities';
import { MIGRATION_DEMO, migrationFixture, MigrationFixture } from '../support/migration';
import { getMigrationRun } from '../../db/migration-runs';

describe('promotion and rollback drill', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    f = await migrationFixture({
      pdev: { backfill: { mode: 'force' } },
      pstaging: { approval: { required: false, approvers: ['alice'] } },
      pproduction: { approval: { required: false, approvers: ['carol'] }, maintenance: { mode: 'db-flag' } },
    });
  });
  afterAll(() => f?.close());

  test('promotion runs pdev, pstaging and pproduction in order, waiting at each promote gate', async () => {
    await f.harness.run(async () => {
      const handle = await f.harness.client.workflow.start('promotion', {
        workflowId: `plandb-promotion-${Date.now()}`,
        taskQueue: f.harness.taskQueue,
        args: [{ environments: ['pdev', 'pstaging', 'pproduction'] }],
      });
      const atGate = (gate: string) =>
        waitFor(
          async () => {
            const s = await handle.query(promotionStatusQuery).catch(() => null);
            return s?.openGate === gate ? s : null;
          },
          90_000,
          gate,
        );

      const first = await atGate('promote-to-pstaging');
      expect(first.stages.map((s) => s.status)).toEqual(['completed', 'pending', 'pending']);
      // Staging has not started: its schema was not even migrated yet.
      expect((await f.dbs.pstaging.pool.query(`SELECT to_regclass('public.plan_versions') AS t`)).rows[0].t).toBeNull();
      // The UI's current details name who may decide and give an input that pastes as JSON.
      const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
      expect(meta.currentDetails).toContain('Allowed approvers: alice.');
      const pasted = /```json\n(.*)\n```/.exec(meta.currentDetails ?? '')?.[1];
      expect(JSON.parse(pasted!)).toEqual({ gate: 'promote-to-pstaging', approver: 'alice', comment: '' });
      await expect(handle.executeUpdate(approveUpdate, { args: [{ gate: 'promote-to-pstaging', approver: 'carol' }] })).rejects.toThrow();
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'promote-to-pstaging', approver: 'alice' }] });

      const second = await atGate('promote-to-pproduction');
      expect(second.stages.map((s) => s.status)).toEqual(['completed', 'completed', 'pending']);
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'promote-to-pproduction', approver: 'carol' }] });

      const done = (await handle.result()) as PromotionStatus;
      expect(done.stages.map((s) => [s.environment, s.status])).toEqual([
        ['pdev', 'completed'],
        ['pstaging', 'completed'],
        ['pproduction', 'completed'],
      ]);
      const evidence: MigrationEvidence[] = [];
      for (const stage of done.stages) evidence.push((await getMigrationRun(f.dbs[stage.environment].pool, stage.workflowId))!);
      // In order: each stage finished before the next one started.
      expect(Date.parse(evidence[0].finishedAt!)).toBeLessThanOrEqual(Date.parse(evidence[1].startedAt));
      expect(Date.parse(evidence[1].finishedAt!)).toBeLessThanOrEqual(Date.parse(evidence[2].startedAt));
      for (const e of evidence) expect(e.status).toBe('completed');
    });
  });

  test('rollbackDrill restores the latest backup into a scratch database, verifies it and drops it', async () => {
    // A backup of the migrated, backfilled pdev database (`plandb backup` does the same).
    const taken = await createActivities(activityDeps(f.config, f.env)).backup({ environment: 'pdev' });
    expect(taken).toEqual(expect.objectContaining({ skipped: false, verified: true, backupId: expect.any(Number) }));
    const result = (await f.harness.run(async () =>
      (
        await f.harness.client.workflow.start('rollbackDrill', {
          workflowId: `plandb-dev-drill-${Date.now()}`,
          taskQueue: f.harness.taskQueue,
          args: [{ environment: 'pdev' }],
        })
      ).result(),
    )) as {
      passed: boolean;
      backup: unknown;
      database: string;
      verification: { mismatches: number; artifactsRead: number; versionsChecked: number };
    };
    expect(result.passed).toBe(true);
    expect(result.backup).toEqual(expect.objectContaining({ backupId: (taken as { backupId: number }).backupId }));
    expect(result.verification.versionsChecked).toBe(result.verification.artifactsRead - MIGRATION_DEMO.bad);
    expect(result.database).toMatch(/^plandb_drill_pdev_/);
    expect(result.verification.mismatches).toBe(0);
    expect(result.verification.artifactsRead).toBeGreaterThan(0);
    const left = await f.dbs.pdev.pool.query(`SELECT count(*)::int AS n FROM pg_database WHERE datname = $1`, [result.database]);
    expect(left.rows[0].n).toBe(0);
  });
});
