/** Backfill run shapes shared by the database layer, activities, workflows and the CLI. Pure. */
import type { CatchUpState } from './catch-up';

/**
 * Artifacts per batch a run starts with (the tuner moves it). Each shard keeps a batch's versions and
 * COPY bytes in its worker's memory until committed, and one more read ahead: at 500 documents of ~100
 * series rows a worker running one shard stays under 400 MB, two shards do not (npm run bench).
 */
export const DEFAULT_BATCH_SIZE = 500;

/**
 * `delta`: the online cut-over's final pass (workflows/online-cutover.ts): writes what is missing like
 * `normal`, and rewrites a version whose own source artifact's payload changed since it was written.
 */
export type BackfillMode = 'dry-run' | 'normal' | 'force' | 'delta';
export type RunStatus = 'running' | 'paused' | 'completed' | 'failed' | 'cancelled' | 'terminated';

/** Statuses a run ends in; a run in one of them is never changed again. */
export const FINAL_RUN_STATUSES = ['completed', 'failed', 'cancelled', 'terminated'] as const satisfies readonly RunStatus[];
export type FinalRunStatus = (typeof FINAL_RUN_STATUSES)[number];
/** Statuses that hold the environment (the unique index plan_backfill_runs_one_active_idx). */
export const ACTIVE_RUN_STATUSES = ['running', 'paused'] as const satisfies readonly RunStatus[];

/**
 * Allowed status changes. A paused run may complete (its last batch committed just before the pause) and
 * may be closed by anyone; final statuses have no way out, so racing closers (workflow, reconciler) cannot
 * overwrite each other.
 */
export const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  running: ['paused', 'completed', 'failed', 'cancelled', 'terminated'],
  paused: ['running', 'completed', 'failed', 'cancelled', 'terminated'],
  completed: [],
  failed: [],
  cancelled: [],
  terminated: [],
};

export function isFinalRunStatus(status: RunStatus): status is FinalRunStatus {
  return (FINAL_RUN_STATUSES as readonly RunStatus[]).includes(status);
}

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

/** The statuses a run may be moved to `to` from (what an UPDATE's WHERE admits). */
export function statusesLeadingTo(to: RunStatus): RunStatus[] {
  return (Object.keys(RUN_TRANSITIONS) as RunStatus[]).filter((from) => canTransition(from, to));
}

/** A Temporal workflow execution status name (WorkflowExecutionStatusName), or NOT_FOUND / NONE. */
export type WorkflowLivenessStatus = string;

/**
 * How to close a run whose owning workflow is no longer running, from that workflow's status (Temporal
 * describe()): TERMINATED and CANCELLED keep their name; anything else (FAILED, TIMED_OUT, COMPLETED
 * without closing the run, gone) is a failure whose reason names what happened.
 */
export function closureForClosedWorkflow(
  workflowId: string | null,
  workflowStatus: WorkflowLivenessStatus,
): { status: FinalRunStatus; reason: string } {
  const who = workflowId ? `workflow ${workflowId}` : 'no workflow';
  switch (workflowStatus) {
    case 'TERMINATED':
      return { status: 'terminated', reason: `${who} was terminated` };
    case 'CANCELLED':
      return { status: 'cancelled', reason: `${who} was cancelled` };
    case 'FAILED':
      return { status: 'failed', reason: `${who} failed without closing the run` };
    case 'TIMED_OUT':
      return { status: 'failed', reason: `${who} timed out` };
    case 'COMPLETED':
      return { status: 'failed', reason: `${who} completed without closing the run` };
    case 'NOT_FOUND':
      return { status: 'failed', reason: `${who} does not exist (any more)` };
    case 'NONE':
      return { status: 'failed', reason: 'the run has no workflow to own it' };
    default:
      return { status: 'failed', reason: `${who} is not running (${workflowStatus})` };
  }
}

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
  /** Why the run ended (set with every final status). */
  closedReason: string | null;
  /** A retry-errors run: the run whose unresolved errors it re-reads (absent for every other run). */
  retryOf?: string;
  /** Catch-up passes started (0: only the first range); absent from rows read before migration 0005. */
  catchUpPass?: number;
  /** Each catch-up pass and why the last was the last (model/catch-up.ts). */
  catchUp?: CatchUpState;
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

/**
 * One shard of a run: the part (afterId, upToId] of the run's range that one chunk activity at a time
 * advances, with its own checkpoint. Shards of a run are processed concurrently, on any workers.
 */
export interface BackfillShard {
  shard: number;
  afterId: number;
  upToId: number;
  /** Last artifact id of this shard whose batch committed. */
  cursor: number;
  artifactsTotal: number;
  artifactsRead: number;
  versionsWritten: number;
  /** Repository rows written: versions, series, KPIs and events. */
  rowsWritten: number;
  errorsCount: number;
  batches: number;
  /** Its whole range is processed. */
  done: boolean;
}

/** Most shards a run may have: each holds up to two connections while it works. */
export const MAX_SHARDS = 32;

/**
 * Chunks run on their own task queue beside the workflow's, so each worker can cap how many it runs
 * at once (PLANDB_MAX_CONCURRENT_CHUNKS) without capping any other activity: with a cap, Temporal
 * hands the next shard to a worker with a free slot, which spreads the shards over the workers.
 */
export function chunkTaskQueue(taskQueue: string): string {
  return `${taskQueue}.backfill-chunks`;
}
