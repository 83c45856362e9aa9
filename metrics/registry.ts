/**
 * plandb's Prometheus metrics (prom-client), on a registry of their own so tests can create as many as
 * they like. Names and labels are the contract of SPEC §9: alert rules and dashboards depend on them.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PlandbConfig } from '../config/schema';
import { FINAL_RUN_STATUSES } from '../model/backfill';
import { BULK_STAGES } from '../model/bulk-load';
import { THROTTLE_REASONS } from '../model/throttle';
import { STEP_NAMES, type StepName } from '../model/migration';
import { NOTIFICATION_EVENTS } from '../model/notifications';
import { REPOSITORY_TABLES } from '../model/tables';
import { REJECT_REASONS } from '../transform/types';
import { createLiveGauges, type LiveSource } from './live-gauges';
import { repositoryRowsGauge } from './repository-gauge';

/** The label values the worker emits, known up front so primeMetrics creates every series at 0. */
export const WRITE_OPERATIONS = ['backfill_batch', 'trim_batch'] as const;
export const WRITE_ERROR_REASONS = [...REJECT_REASONS, 'conflict', 'db_rejected', 'db_error'] as const;
export const NOTIFICATION_OUTCOMES = ['delivered', 'failed'] as const;
export const BACKFILL_OUTCOMES = ['written', 'skipped', 'rejected', 'conflict'] as const;
export type BackfillOutcome = (typeof BACKFILL_OUTCOMES)[number];
/** A dry run's outcomes count apart: it writes nothing, so nothing it rejects is a write error. */
export const backfillOutcomeLabel = (outcome: BackfillOutcome, dryRun: boolean) => (dryRun ? `dry_run_${outcome}` : outcome);

/** `live`: the databases the scrape-time gauges read (the worker); without it they report nothing. */
export function createMetrics(registry = new Registry(), live?: LiveSource) {
  return {
    registry,
    writeTotal: new Counter({
      name: 'plan_db_write_total',
      help: 'Rows written into the PlanRepository, by table',
      labelNames: ['environment', 'table'] as const,
      registers: [registry],
    }),
    writeLatency: new Histogram({
      name: 'plan_db_write_latency_seconds',
      help: 'Duration of one write transaction (a backfill batch, a trim batch)',
      labelNames: ['environment', 'operation'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    writeErrorTotal: new Counter({
      name: 'plan_db_write_error_total',
      help: 'Artifacts not written because of an error, by reason (reject codes, conflict, db_rejected, db_error); dry runs never count',
      labelNames: ['environment', 'reason'] as const,
      registers: [registry],
    }),
    backfillArtifactsTotal: new Counter({
      name: 'plan_backfill_artifacts_total',
      help: 'Legacy artifacts processed by backfill, by outcome (written, skipped, rejected, conflict; dry runs: dry_run_<outcome>)',
      labelNames: ['environment', 'outcome'] as const,
      registers: [registry],
    }),
    backfillRunsTotal: new Counter({
      name: 'plan_backfill_runs_total',
      help: 'Backfill runs closed, by final status (completed, failed, cancelled, terminated)',
      labelNames: ['environment', 'status'] as const,
      registers: [registry],
    }),
    backfillLastSuccess: new Gauge({
      name: 'plan_backfill_last_success_timestamp_seconds',
      help: 'Unix time of the last completed (non-dry-run) backfill run',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
    backfillThrottledSeconds: new Counter({
      name: 'plan_backfill_throttled_seconds_total',
      help: 'Seconds backfills waited on the health throttle, by reason (lock_waits, long_transaction, autovacuum, replication_lag, query)',
      labelNames: ['environment', 'reason'] as const,
      registers: [registry],
    }),
    backfillCatchUpPassesTotal: new Counter({
      name: 'plan_backfill_catch_up_passes_total',
      help: 'Catch-up passes started: runs extended over the artifacts the application appended while they ran',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
    backfillBulkStageSeconds: new Histogram({
      name: 'plan_backfill_bulk_stage_seconds',
      help: 'Duration of each stage of the first-load bulk path (prepare; finish: keys, indexes, foreignKeys)',
      labelNames: ['environment', 'stage'] as const,
      // From an instant prepare to hour-long index builds of a large first load.
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers: [registry],
    }),
    backfillBatchSize: new Gauge({
      name: 'plan_backfill_batch_size',
      help: 'Artifacts per batch of the last backfill batch this worker started (self-tuned or pinned by setBatchSize); 0 before its first',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
    repositoryRows: repositoryRowsGauge(registry),
    capacityMaxRows: new Gauge({
      name: 'plan_db_capacity_max_rows',
      help: 'Configured capacity.maxRows (PLANS_DB_MAX_ROWS) of each environment that is trimmed',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
    capacityTrimTotal: new Counter({
      name: 'plan_db_capacity_trim_total',
      help: 'plan_series rows deleted by capacity trims (with their versions, KPIs and events)',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
    capacityTrimAlertsTotal: new Counter({
      name: 'plan_db_capacity_trim_alerts_total',
      help: 'Capacity trims that deleted more rows than PLANS_DB_GUARD_ALERT_THRESHOLD',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
    lastTrimTimestamp: new Gauge({
      name: 'plan_db_last_trim_timestamp',
      help: 'Unix time of the last completed (non-dry-run) capacity trim, whether or not it deleted rows',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
    migrationStepDuration: new Histogram({
      name: 'plan_migration_step_duration_seconds',
      help: 'Duration of environmentMigration steps, gates included',
      labelNames: ['environment', 'step'] as const,
      // From a 1s preflight to a day-long approval wait or post-check watch.
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400],
      registers: [registry],
    }),
    notificationsTotal: new Counter({
      name: 'plan_notifications_total',
      help: 'Webhook notifications of migration events, by outcome (delivered; failed: after the last attempt)',
      labelNames: ['environment', 'event', 'outcome'] as const,
      registers: [registry],
    }),
    migrationMaintenanceSeconds: new Gauge({
      name: 'plan_migration_maintenance_seconds',
      help: 'Seconds maintenance was on in the last window an online cut-over closed (maintenance on, final delta, its verify, spot-check, off); 0 before one',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
    ...createLiveGauges(registry, live),
  };
}

export type PlandbMetrics = ReturnType<typeof createMetrics>;

/**
 * Creates at 0 every labelled series the worker can emit, for every configured environment: Prometheus does
 * not count the step from "no series" to the first value, so without this increase() misses a worker's first
 * batch, first failed run or first write error, and histogram_quantile() has nothing to work on for a step
 * that ran once. Sets plan_db_capacity_max_rows, which tells the no-trim alert which environments are trimmed.
 */
export function primeMetrics(metrics: PlandbMetrics, config: PlandbConfig): void {
  for (const [environment, envConfig] of Object.entries(config.environments)) {
    for (const table of REPOSITORY_TABLES) metrics.writeTotal.inc({ environment, table }, 0);
    for (const operation of WRITE_OPERATIONS) metrics.writeLatency.zero({ environment, operation });
    for (const reason of WRITE_ERROR_REASONS) metrics.writeErrorTotal.inc({ environment, reason }, 0);
    for (const outcome of BACKFILL_OUTCOMES)
      for (const dryRun of [false, true])
        metrics.backfillArtifactsTotal.inc({ environment, outcome: backfillOutcomeLabel(outcome, dryRun) }, 0);
    for (const status of FINAL_RUN_STATUSES) metrics.backfillRunsTotal.inc({ environment, status }, 0);
    for (const reason of THROTTLE_REASONS) metrics.backfillThrottledSeconds.inc({ environment, reason }, 0);
    for (const step of STEP_NAMES) metrics.migrationStepDuration.zero({ environment, step });
    for (const stage of BULK_STAGES) metrics.backfillBulkStageSeconds.zero({ environment, stage });
    metrics.backfillBatchSize.set({ environment }, 0);
    for (const event of NOTIFICATION_EVENTS)
      for (const outcome of NOTIFICATION_OUTCOMES) metrics.notificationsTotal.inc({ environment, event, outcome }, 0);
    metrics.backfillCatchUpPassesTotal.inc({ environment }, 0);
    metrics.migrationMaintenanceSeconds.set({ environment }, 0);
    metrics.capacityTrimTotal.inc({ environment }, 0);
    metrics.capacityTrimAlertsTotal.inc({ environment }, 0);
    if (envConfig.capacity.maxRows !== null) metrics.capacityMaxRows.set({ environment }, envConfig.capacity.maxRows);
  }
}

/** Records one environmentMigration step's duration (the workflow reports it through an activity). */
export function observeStepDuration(metrics: PlandbMetrics, environment: string, step: StepName, seconds: number): void {
  metrics.migrationStepDuration.observe({ environment, step }, seconds);
}
