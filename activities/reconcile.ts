/**
 * What Temporal's terminate and timeouts leave behind, since they run no workflow code: a migration
 * run still open and a maintenance flag still on, owned by a workflow that no longer runs. Used when
 * a migration claims its environment and by the worker's reconciler (worker/reconciler.ts).
 */
import { closeMigrationRun, evidenceTablesExist, openMigrationRuns } from '../db/migration-runs';
import type { Queryable } from '../db/connection';
import { getMaintenance, liftOrphanedMaintenance } from '../db/maintenance';
import { migrationStateForClosedWorkflow } from '../model/workflow-liveness';
import type { ActivityDeps, WorkflowLivenessPort } from './deps';

/** Closes a migration whose workflow ended with `temporalStatus`, and lifts the maintenance it held. */
export async function closeAbandonedMigration(
  deps: Pick<ActivityDeps, 'logger'>,
  db: Queryable,
  workflowId: string,
  temporalStatus: string,
) {
  const status = migrationStateForClosedWorkflow(temporalStatus);
  const reason = `its workflow ended as ${temporalStatus} without closing the migration (closed by plandb)`;
  const closed = await closeMigrationRun(db, workflowId, status, reason);
  const lifted = await liftOrphanedMaintenance(db, workflowId, `owner ${workflowId} is not running (${temporalStatus}): lifted by plandb`);
  if (closed || lifted)
    deps.logger.warn({ event: 'migration_reconciled', workflowId, temporalStatus, status, closed, maintenanceLifted: lifted });
  return { closed, maintenanceLifted: lifted };
}

/** Closes every open migration of `environment` whose workflow is not running; returns how many. */
export async function reconcileOpenMigrations(deps: Pick<ActivityDeps, 'logger'>, db: Queryable, environment: string, liveness: WorkflowLivenessPort) {
  let closed = 0;
  if (!(await evidenceTablesExist(db))) return closed;
  for (const run of (await openMigrationRuns(db)).filter((r) => r.environment === environment)) {
    const live = await liveness(run.workflowId);
    if (!live.running && (await closeAbandonedMigration(deps, db, run.workflowId, live.status)).closed) closed++;
  }
  return closed;
}

/** Lifts a maintenance flag whose owner workflow is not running (and closes that owner's run); 1 when it did. */
export async function reconcileMaintenanceOwner(deps: Pick<ActivityDeps, 'logger'>, db: Queryable, liveness: WorkflowLivenessPort) {
  const flag = await getMaintenance(db);
  if (!flag.enabled || !flag.ownerWorkflowId) return 0;
  const live = await liveness(flag.ownerWorkflowId);
  if (live.running) return 0;
  return (await closeAbandonedMigration(deps, db, flag.ownerWorkflowId, live.status)).maintenanceLifted ? 1 : 0;
}
