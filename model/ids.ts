/** Workflow ids and the task queue: shared by workflows, the worker and the CLI. Pure. */
export const DEFAULT_TASK_QUEUE = 'plan-db-migration';

export type WorkflowKind = 'preflight' | 'migration' | 'backfill' | 'trim' | 'promotion' | 'rollback' | 'drill' | 'legacy-usage';

/** `plandb-<env>-<kind>`: one running execution per environment and kind (ID conflict policy FAIL). */
export function workflowIdFor(environment: string, kind: WorkflowKind): string {
  return `plandb-${environment}-${kind}`;
}

const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** Checks the one thing a workflow can check without config: that the name is a well-formed environment name. */
export function checkEnvironmentName(value: unknown): string | null {
  if (typeof value !== 'string' || !ENVIRONMENT_NAME.test(value)) {
    return `"environment" must be an environment name such as "dev" (lowercase letters, digits, dashes), got ${JSON.stringify(value)}`;
  }
  return null;
}
