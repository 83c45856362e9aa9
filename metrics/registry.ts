/**
 * plandb's Prometheus metrics (prom-client), on a registry of their own so tests can create as many as
 * they like. Names and labels are the contract of SPEC §9: alert rules and dashboards depend on them.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics(registry = new Registry()) {
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
      help: 'Artifacts not written because of an error, by reason (reject codes, conflict, db_error)',
      labelNames: ['environment', 'reason'] as const,
      registers: [registry],
    }),
    backfillArtifactsTotal: new Counter({
      name: 'plan_backfill_artifacts_total',
      help: 'Legacy artifacts processed by backfill, by outcome (written, skipped, rejected, conflict)',
      labelNames: ['environment', 'outcome'] as const,
      registers: [registry],
    }),
    backfillRunsTotal: new Counter({
      name: 'plan_backfill_runs_total',
      help: 'Backfill runs finished, by final status',
      labelNames: ['environment', 'status'] as const,
      registers: [registry],
    }),
    backfillLastSuccess: new Gauge({
      name: 'plan_backfill_last_success_timestamp_seconds',
      help: 'Unix time of the last completed (non-dry-run) backfill run',
      labelNames: ['environment'] as const,
      registers: [registry],
    }),
  };
}

export type PlandbMetrics = ReturnType<typeof createMetrics>;
