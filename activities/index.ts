import { createBackfillActivities } from './backfill';
import { createMaintenanceWindowActivities } from './backfill-eta';
import { createBackupActivities } from './backup';
import { createBulkLoadActivities } from './bulk-load';
import { createCapacityActivities } from './capacity';
import { createCatchUpActivities } from './catch-up';
import { createCutoverActivities } from './cutover';
import { createLegacyUsageActivities } from './legacy-usage';
import { createMaintenanceActivities } from './maintenance';
import type { WorkerActivityDeps } from './deps';
import { permanentErrorsFailFast } from './failures';
import { createMigrationActivities } from './migration';
import { createNotifyActivities } from './notify';
import { createPreflight } from './preflight';
import { createRestoreActivities } from './restore';
import { createTrimActivities } from './trim';
import { createVerifyActivities } from './verify';

export type { ActivityDeps, WorkerActivityDeps } from './deps';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- activity signatures vary
type ActivityMap = Record<string, (...args: any[]) => Promise<unknown>>;

/** Wraps every activity so errors no retry can fix (config, drift) stop retries at once. */
function failFast<T extends ActivityMap>(activities: T): T {
  return Object.fromEntries(Object.entries(activities).map(([name, fn]) => [name, permanentErrorsFailFast(fn)])) as T;
}

/** Every activity the worker registers, built over its dependencies. */
export function createActivities(deps: WorkerActivityDeps) {
  return failFast({
    preflight: createPreflight(deps),
    ...createBackfillActivities(deps),
    ...createBulkLoadActivities(deps),
    ...createCatchUpActivities(deps),
    ...createMigrationActivities(deps),
    ...createBackupActivities(deps, deps.env),
    ...createRestoreActivities(deps, deps.env),
    ...createVerifyActivities(deps, deps.env),
    ...createMaintenanceActivities(deps, deps.env),
    ...createMaintenanceWindowActivities(deps),
    ...createCapacityActivities(deps),
    ...createTrimActivities(deps),
    ...createNotifyActivities(deps),
    ...createCutoverActivities(deps),
    ...createLegacyUsageActivities(deps),
  });
}

export type PlandbActivities = ReturnType<typeof createActivities>;
