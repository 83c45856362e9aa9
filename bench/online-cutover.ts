/**
 * The online cut-over scenario (issue 11): a whole `environmentMigration` of the bench environment with
 * `cutover: "online"` into the empty repository, while the load generator plays the application —
 * appending versions and rewriting payloads in place at a set rate from the start to the end, refusing its
 * writes while maintenance is on as the Plan creation API does. Measures the maintenance window (on → off,
 * from the evidence) and what it held, and checks the repository then equals the legacy table.
 */
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type pg from 'pg';
import { getRun } from '../db/backfill-runs';
import { truncateRepository } from '../db/repository-stats';
import { verifyRepository } from '../db/verification';
import { workflowIdFor } from '../model/ids';
import type { DeltaSummary, MigrationEvidence, StepName } from '../model/migration';
import { verificationProblems } from '../transform/verification-report';
import { PLAN_DB_ENVIRONMENT } from '../workflows/search-attributes';
import { BENCH_ENVIRONMENT, type BenchConfig } from './bench-config';
import type { Cleanup } from './cleanup';
import { startLoadGenerator } from './load-generator';
import { progress, secondsSince } from './log';
import { startBenchWorkers, type BenchWorkerOptions } from './workflow-run';

/** How the application writes during the online migration (--online-rate, --online-updates). */
export interface OnlineWrites {
  /** New artifact versions per second. */
  rate: number;
  /** In-place payload rewrites per new version. */
  updateFraction: number;
  /** Series rows per new document (the bench data's own). */
  series: number;
}

export interface OnlineMeasurement {
  /** From the start request to the migration's result. */
  migrationSeconds: number;
  /** Maintenance on → off, from the evidence (plan_migration_maintenance_seconds). */
  maintenanceSeconds: number;
  /** Seconds of each step inside the window, in order (maintenance-on's own flip is before the window opens). */
  windowSteps: { step: StepName; seconds: number }[];
  /** The online backfill step (first range and catch-up passes), with the application writing. */
  backfillSeconds: number;
  catchUpPasses: number;
  /** The delta taken just before maintenance, with the application live. */
  preDelta: DeltaSummary | null;
  delta: DeltaSummary;
  writes: { inserted: number; updated: number; refusedInMaintenance: number; cutOverAtSeconds: number | null; seconds: number };
  /** The full verify afterwards: the repository equals the legacy table. */
  verify: { versions: number; mismatches: number; missingInRepository: number; extraInRepository: number; problems: string[] };
}

const seconds = (s: { startedAt: string; finishedAt: string | null }) => (Date.parse(s.finishedAt!) - Date.parse(s.startedAt)) / 1000;

/** The steps that ran while maintenance was on: after maintenance-on, up to and including maintenance-off. */
function stepsInWindow(e: MigrationEvidence): { step: StepName; seconds: number }[] {
  const names = e.steps.map((s) => s.name);
  const on = names.lastIndexOf('maintenance-on');
  const off = names.lastIndexOf('maintenance-off');
  return e.steps.slice(on + 1, off + 1).map((s) => ({ step: s.name, seconds: Number(seconds(s).toFixed(3)) }));
}

export async function measureOnlineCutover(
  bench: BenchConfig,
  opts: BenchWorkerOptions & { pool: pg.Pool; databaseUrl: string; verifyBatch: number },
  writes: OnlineWrites,
  cleanup: Cleanup,
): Promise<OnlineMeasurement> {
  await truncateRepository(opts.pool);
  const { workers, client } = await startBenchWorkers(bench, opts, cleanup);
  progress(`online: the application writes ${writes.rate} versions/s and rewrites ${writes.updateFraction} payloads per version`);
  const app = await startLoadGenerator(opts.databaseUrl, {
    rate: writes.rate,
    updateFraction: writes.updateFraction,
    series: writes.series,
    connections: 2,
    honourMaintenance: true,
  });
  cleanup.add('stop the load generator', () => app.stop().then(() => undefined));
  const workflowId = workflowIdFor(BENCH_ENVIRONMENT, 'migration');
  progress(`online: starting environmentMigration as ${workflowId}`);
  const started = process.hrtime.bigint();
  let evidence: MigrationEvidence;
  let written;
  try {
    const handle = await client.workflow.start('environmentMigration', {
      workflowId,
      taskQueue: bench.config.temporal.taskQueue,
      args: [{ environment: BENCH_ENVIRONMENT }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      typedSearchAttributes: [{ key: PLAN_DB_ENVIRONMENT, value: BENCH_ENVIRONMENT }],
    });
    evidence = (await handle.result()) as MigrationEvidence;
  } finally {
    written = await app.stop();
  }
  const migrationSeconds = secondsSince(started);
  await Promise.all(workers.map((w) => w.stop()));
  const window = evidence.cutover?.maintenanceWindow;
  const delta = evidence.cutover?.delta;
  if (evidence.status !== 'completed' || !window?.seconds || !delta)
    throw new Error(
      `the online migration ended ${evidence.status} (${evidence.stopReason ?? 'no reason'}) without a closed window and delta`,
    );
  const backfill = evidence.steps.find((s) => s.name === 'backfill')!;
  const measurement = {
    migrationSeconds,
    maintenanceSeconds: window.seconds,
    windowSteps: stepsInWindow(evidence),
    backfillSeconds: seconds(backfill),
    catchUpPasses: (await getRun(opts.pool, (backfill.output as { runId: string }).runId))?.catchUp?.passes.length ?? 0,
    preDelta: evidence.cutover?.preDelta ?? null,
    delta,
    writes: {
      inserted: written.insertedIds.length,
      updated: written.updatedIds.length,
      refusedInMaintenance: written.refusedInMaintenance,
      cutOverAtSeconds: written.cutOverAtSeconds,
      seconds: written.seconds,
    },
  };
  progress(
    `online: migration ${migrationSeconds.toFixed(1)}s, maintenance ${window.seconds.toFixed(2)}s ` +
      `(${measurement.windowSteps.map((s) => `${s.step} ${s.seconds}s`).join(', ')}); delta ${delta.artifactsRead} artifacts read`,
  );
  progress('online: full verify of the repository against the legacy table');
  const report = await verifyRepository(opts.pool, { batchSize: opts.verifyBatch, parallel: opts.shards });
  const verify = {
    versions: report.versionsChecked,
    mismatches: report.mismatches,
    missingInRepository: report.missingInRepository,
    extraInRepository: report.extraInRepository,
    problems: verificationProblems(report),
  };
  if (verify.problems.length) progress(`online: verify: ${verify.problems.join('; ')}`);
  return { ...measurement, verify };
}
