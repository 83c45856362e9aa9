/** Backfill run shapes shared by the database layer, activities, workflows and the CLI. Pure. */

/**
 * Artifacts per batch by default. A batch's transformed versions and its COPY stay in the worker's
 * memory until committed: 500 documents of ~100 series rows keep a worker under 400 MB (npm run bench).
 */
export const DEFAULT_BATCH_SIZE = 500;

export type BackfillMode = 'dry-run' | 'normal' | 'force';
export type RunStatus = 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

export interface RunCounters {
  artifactsRead: number;
  versionsWritten: number;
  versionsSkipped: number;
  versionsRejected: number;
  versionsConflicted: number;
  plansWritten: number;
  seriesWritten: number;
  kpisWritten: number;
  eventsWritten: number;
  errorsCount: number;
}

export interface BackfillRun extends RunCounters {
  runId: string;
  environment: string;
  workflowId: string | null;
  mode: BackfillMode;
  status: RunStatus;
  options: Record<string, unknown>;
  /** Last artifact id whose batch committed. */
  cursor: number;
  /** The run's fixed upper bound: max(id) when it started. */
  upToId: number;
  /** Artifacts in (start cursor, upToId], capped by the run's limit. */
  artifactsTotal: number;
  limit: number | null;
  errors: BackfillErrorSummary[];
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface BackfillErrorSummary {
  artifactId: number;
  planId: string;
  version: number;
  reason: string;
  message: string;
}

export const ZERO_COUNTERS: RunCounters = {
  artifactsRead: 0,
  versionsWritten: 0,
  versionsSkipped: 0,
  versionsRejected: 0,
  versionsConflicted: 0,
  plansWritten: 0,
  seriesWritten: 0,
  kpisWritten: 0,
  eventsWritten: 0,
  errorsCount: 0,
};

/** Just the counters of a run or of a progress report. */
export function countersOf(run: RunCounters): RunCounters {
  const out = { ...ZERO_COUNTERS };
  for (const key of Object.keys(ZERO_COUNTERS) as (keyof RunCounters)[]) out[key] = run[key];
  return out;
}
