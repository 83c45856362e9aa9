/**
 * The reconciler: a loop in the worker that repairs state a closed workflow left behind, so metrics and
 * alerts see it (a terminated or timed-out workflow runs none of its own cleanup). It runs every
 * PLANDB_RECONCILE_INTERVAL seconds (default 30), each check over every configured environment.
 *
 * Extension point: RECONCILE_CHECKS. A check is `{ name, run(deps, environment) }`, returns how many
 * things it repaired, and must be safe to repeat and to race with the owning workflow (close only what
 * Temporal says is no longer owned, through a guarded status change). The migration's own
 * checks live in activities/reconcile.ts.
 */
import type { WorkerActivityDeps } from '../activities/deps';
import { reconcileActiveRun } from '../activities/backfill';
import { reconcileOrphanedBulkLoad } from '../activities/bulk-load';
import { reconcileMaintenanceOwner, reconcileOpenMigrations } from '../activities/reconcile';

export interface ReconcileCheck {
  name: string;
  run(deps: WorkerActivityDeps, environment: string): Promise<number>;
}

export const RECONCILE_CHECKS: readonly ReconcileCheck[] = [
  {
    // Its run row would stay running or paused, blocking the environment and never counted as closed.
    name: 'backfill-run-open-workflow-closed',
    run: async (deps, environment) => ((await reconcileActiveRun(deps, environment)).closed ? 1 : 0),
  },
  {
    // Terminate and execution timeouts run no workflow code: the migration's row would stay open.
    name: 'migration-open-workflow-closed',
    run: (deps, environment) => reconcileOpenMigrations(deps, deps.databases.pool(environment), environment, deps.workflowLiveness),
  },
  {
    // After the run check (which closes a dead workflow's run): its bulk load would leave the child tables
    // without keys and foreign keys until the next backfill.
    name: 'bulk-load-run-closed',
    run: (deps, environment) => reconcileOrphanedBulkLoad(deps, environment),
  },
  {
    // The Plan creation API would stay read-only with nobody left to lift it.
    name: 'maintenance-owner-not-running',
    run: (deps, environment) => reconcileMaintenanceOwner(deps, deps.databases.pool(environment), deps.workflowLiveness),
  },
];

export const DEFAULT_RECONCILE_INTERVAL_MS = 30_000;

/** PLANDB_RECONCILE_INTERVAL: seconds between passes (fractions allowed, e.g. 0.5 in tests); default 30. */
export function reconcileIntervalFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.PLANDB_RECONCILE_INTERVAL;
  if (raw === undefined || raw === '') return DEFAULT_RECONCILE_INTERVAL_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(`PLANDB_RECONCILE_INTERVAL must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  }
  return Math.round(seconds * 1000);
}

export interface Reconciler {
  /** One pass of every check over every environment; a failing check is logged and the others still run. */
  runOnce(): Promise<number>;
  /** Stops the loop and waits for a pass in progress. */
  stop(): Promise<void>;
}

/** Starts the loop: a first pass at once, then one every `intervalMs` after the previous pass ended. */
export function startReconciler(deps: WorkerActivityDeps, opts: { intervalMs: number; checks?: readonly ReconcileCheck[] }): Reconciler {
  const checks = opts.checks ?? RECONCILE_CHECKS;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<number> = Promise.resolve(0);

  const runOnce = async (): Promise<number> => {
    let repaired = 0;
    for (const environment of Object.keys(deps.config.environments)) {
      for (const check of checks) {
        try {
          repaired += await check.run(deps, environment);
        } catch (err) {
          // An unreachable database or Temporal: next pass. Never guess that a workflow is closed.
          deps.logger.warn({ event: 'reconcile_check_failed', check: check.name, environment, err: (err as Error).message });
        }
      }
    }
    return repaired;
  };
  const loop = () => {
    pass = runOnce().finally(() => {
      if (!stopped) timer = setTimeout(loop, opts.intervalMs);
    });
  };
  loop();
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await pass;
    },
  };
}
