import type { PlandbConfig } from '../config/schema';
import type { DatabaseRegistry } from '../db/registry';
import type { Logger } from '../logging/logger';
import type { PlandbMetrics } from '../metrics/registry';
import type { WorkflowLiveness } from '../model/workflow-liveness';

/** What every activity is built over (`createActivities(deps)`). */
export interface ActivityDeps {
  config: PlandbConfig;
  databases: DatabaseRegistry;
  metrics: PlandbMetrics;
  logger: Logger;
  /** Where the worker reads the variables config names (database URLs, tokens, S3 credentials). */
  env: NodeJS.ProcessEnv;
  /** Asks Temporal whether a workflow still runs; absent where no Temporal client is at hand. */
  workflowLiveness?: WorkflowLiveness;
}
