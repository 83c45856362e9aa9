/**
 * What Temporal's terminate and timeouts leave behind, since they run no workflow code: a migration
 * run still open and a maintenance flag still on, owned by a workflow that no longer runs. Used when
 * a migration claims its environment and by the worker's reconciler.
 */
import { closeMigrationRun, openMigrationRuns } from '../db/migration-runs';
import type { Queryable } from '../db/connection';
import { getMaintenance, liftOrphanedMaintenance } from '../db/maintenance';
import { migrationStateForClosedWorkflow, type WorkflowLiveness } from '../model/workflow-liveness';
import type { ActivityDeps } from './deps';

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

/**
 * One pass over an environment: every open migration whose workflow is not running is closed, and a
 * maintenance flag whose owner is not running is lifted. Returns what it changed.
 */
export async function reconcileMigrations(
  deps: Pick<ActivityDeps, 'logger'>,
  db: Queryable,
  environment: string,
  liveness: WorkflowLiveness,
) {
  const changed: string[] = [];
  for (const run of (await openMigrationRuns(db)).filter((r) => r.environment === environment)) {
    const live = await liveness(run.workflowId);
    if (!live.running && (await closeAbandonedMigration(deps, db, run.workflowId, live.status)).closed)
      changed.push(`migration ${run.workflowId}`);
  }
  const flag = await getMaintenance(db);
  if (flag.enabled && flag.ownerWorkflowId) {
    const live = await liveness(flag.ownerWorkflowId);
    if (!live.running && (await closeAbandonedMigration(deps, db, flag.ownerWorkflowId, live.status)).maintenanceLifted)
      changed.push(`maintenance of ${flag.ownerWorkflowId}`);
  }
  return changed;
}
