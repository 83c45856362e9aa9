/**
 * ETA from history: after dev's backfill, staging's preflight predicts its backfill's ETA from dev's measured
 * rate (read from dev's own database) and staging's artifact count; the approval gate shows it, and the
 * backfill child starts with the predicted rate for its early ETA.
 */
import type { PreflightReport } from '../../activities/preflight';
import { renderPreflight } from '../../cli/commands/preflight';
import { getRun } from '../../db/backfill-runs';
import { measuredRate } from '../../model/backfill-eta';
import type { MigrationEvidence } from '../../model/migration';
import { approveUpdate } from '../../workflows/definitions';
import { renderEvidenceMarkdown, renderEvidenceSummary } from '../../workflows/evidence-markdown';
import { uniqueWorkflowId } from '../support/backfill';
import { MIGRATION_DEMO, migrationFixture, MigrationFixture, startMigration, waitForMigration } from '../support/migration';

const ARTIFACTS = MIGRATION_DEMO.plans * MIGRATION_DEMO.versions + MIGRATION_DEMO.bad;

describe('ETA from the previous environment', () => {
  let f: MigrationFixture;
  beforeAll(async () => {
    // Listed in promotion order: etadev, then etastaging.
    f = await migrationFixture({
      etadev: { backfill: { mode: 'force' }, backup: { enabled: false } },
      etastaging: { approval: { required: true, approvers: ['alice'], timeout: '1h' }, backup: { enabled: false } },
    });
  });
  afterAll(() => f?.close());

  const preflight = (environment: string) =>
    f.harness.client.workflow.execute('preflight', {
      workflowId: uniqueWorkflowId(`preflight-${environment}`),
      taskQueue: f.harness.taskQueue,
      args: [{ environment }],
    }) as Promise<PreflightReport>;

  test("dev run, then staging preflight and gate show a predicted ETA at dev's rate; the backfill starts with it", async () => {
    await f.harness.run(async () => {
      // The first environment has nothing before it; staging has no measured rate before dev has run.
      expect((await preflight('etadev')).eta).toBeNull();
      expect((await preflight('etastaging')).eta).toEqual({
        fromEnvironment: 'etadev',
        unavailable: 'etadev has no completed backfill yet',
      });

      const dev = (await (await startMigration(f.harness, { environment: 'etadev' })).result()) as MigrationEvidence;
      expect(dev.status).toBe('completed');
      const devRunId = (dev.steps.find((s) => s.name === 'backfill')!.output as { runId: string }).runId;
      const rate = measuredRate((await getRun(f.dbs.etadev.pool, devRunId))!)!;
      const expected = {
        fromEnvironment: 'etadev',
        fromRunId: devRunId,
        artifactsPerSecond: Math.round(rate.artifactsPerSecond * 10) / 10,
        artifacts: ARTIFACTS,
        etaSeconds: Math.ceil(ARTIFACTS / rate.artifactsPerSecond),
        measuredAt: rate.finishedAt,
      };

      const report = await preflight('etastaging');
      expect(report.eta).toEqual(expected);
      expect(renderPreflight(report)).toContain(
        `  backfill: predicted ETA ${expected.etaSeconds}s for ${ARTIFACTS} artifacts at ${expected.artifactsPerSecond} artifacts/s (measured on etadev, run ${devRunId})`,
      );

      const handle = await startMigration(f.harness, { environment: 'etastaging' });
      const atGate = await waitForMigration(handle, (e) => e.openGate === 'start', 'the start gate');
      expect(atGate.steps[0]).toMatchObject({ name: 'preflight', output: { eta: expected } });
      expect(renderEvidenceSummary(atGate)).toContain(`Backfill: predicted ETA ${expected.etaSeconds}s for ${ARTIFACTS} artifacts`);
      await handle.executeUpdate(approveUpdate, { args: [{ gate: 'start', approver: 'alice' }] });
      const staging = (await handle.result()) as MigrationEvidence;
      expect(staging.status).toBe('completed');
      expect(renderEvidenceMarkdown(staging)).toContain(`- Backfill: predicted ETA ${expected.etaSeconds}s`);

      // The child was started with the predicted rate (its first batches' ETA uses it).
      const childRunId = (staging.steps.find((s) => s.name === 'backfill')!.output as { runId: string }).runId;
      const child = f.harness.client.workflow.getHandle((await getRun(f.dbs.etastaging.pool, childRunId))!.workflowId!);
      const history = await child.fetchHistory();
      const payload = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads![0];
      expect(JSON.parse(Buffer.from(payload.data!).toString())).toMatchObject({
        environment: 'etastaging',
        predictedArtifactsPerSecond: expected.artifactsPerSecond,
      });
    });
  });
});
