import type { PlandbConfig } from '../config/schema';
import type { DatabaseRegistry } from '../db/registry';
import type { Logger } from '../logging/logger';
import type { PlandbMetrics } from '../metrics/registry';
import type { WorkflowLivenessStatus } from '../model/backfill';

/** Whether a workflow id has a running execution; `status` is Temporal's status name, or NOT_FOUND / NONE. */
export interface WorkflowLiveness {
  running: boolean;
  status: WorkflowLivenessStatus;
}

/** Asks Temporal about a workflow (null: a row with no owner). Throws when Temporal cannot answer. */
export type WorkflowLivenessPort = (workflowId: string | null) => Promise<WorkflowLiveness>;

/** What every activity is built over (`createActivities(deps)`). */
export interface ActivityDeps {
  config: PlandbConfig;
  databases: DatabaseRegistry;
  metrics: PlandbMetrics;
  logger: Logger;
  /** Where the worker reads the variables config names (database URLs, tokens, S3 credentials). */
  env: NodeJS.ProcessEnv;
}

/**
 * What the worker's activities are built over: ActivityDeps plus the liveness port that backfill and trim
 * use for ownership (a run belongs to its workflow while that workflow runs, never judged by wall-clock
 * silence). Activities that never look at ownership (backup, capacity) take plain ActivityDeps, so the CLI
 * can call them without Temporal.
 */
export interface WorkerActivityDeps extends ActivityDeps {
  workflowLiveness: WorkflowLivenessPort;
}
