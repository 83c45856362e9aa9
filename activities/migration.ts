/** Activities the environment migration needs around the big steps: policy, schema, evidence, resume, post-check. */
import { getEnvironment } from '../config/environment';
import { resolvePolicy } from '../config/policy';
import { withClient } from '../db/connection';
import { latestRealRun } from '../db/backfill-runs';
import { ApplicationFailure } from '@temporalio/common';
import type { Queryable } from '../db/connection';
import {
  appendEvidenceRows,
  claimMigrationRun,
  evidenceTablesExist,
  updateMigrationRun,
  type EvidenceRow,
  type RunHeader,
  type RunState,
} from '../db/migration-runs';
import { upgrade } from '../db/migrator';
import { repositoryCounts, RepositoryCounts, truncateRepository } from '../db/repository-stats';
import { observeStepDuration } from '../metrics/registry';
import type { MigrationOverrides, MigrationPolicy, StepName } from '../model/migration';
import { refreshRepositoryRowsAfter } from './capacity';
import type { WorkerActivityDeps } from './deps';
import { closeAbandonedMigration } from './reconcile';

export interface RecordMigrationInput {
  header: RunHeader;
  state: RunState;
  rows: EvidenceRow[];
  /** Open gates are not reported here: plan_migration_waiting_since_timestamp reads them from the database. */
  metrics?: {
    stepDurations?: { step: StepName; seconds: number }[];
    /** The maintenance window an online cut-over just closed (plan_migration_maintenance_seconds). */
    maintenanceSeconds?: number;
  };
}

export interface PostCheckResult {
  source: 'prometheus' | 'worker';
  /** Sum of plan_db_write_error_total for the environment. */
  writeErrors: number;
  at: string;
}

export function createMigrationActivities(deps: WorkerActivityDeps) {
  async function resolveMigrationPolicy(input: { environment: string; overrides: MigrationOverrides }): Promise<MigrationPolicy> {
    return resolvePolicy(input.environment, getEnvironment(deps.config, input.environment), input.overrides);
  }

  /** Applies pending schema migrations to head under the advisory lock (drift stops it). */
  async function migrate(input: { environment: string }): Promise<{ applied: string[]; head: string | null; current: string | null }> {
    getEnvironment(deps.config, input.environment);
    const result = await withClient(deps.databases.pool(input.environment), (c) => upgrade(c));
    deps.logger.info({ event: 'migrations_applied', environment: input.environment, applied: result.applied, head: result.head });
    return { applied: result.applied, head: result.head, current: result.status.current };
  }

  /**
   * Writes the migration's new evidence rows and its state, claiming the run row on the first call
   * that finds the tables (one open migration per environment), and reports finished steps' durations
   * to the metrics. Before the first schema migration there are no tables: `saved` is false and the
   * workflow keeps its few rows until a later call.
   */
  async function recordMigration(input: RecordMigrationInput): Promise<{ saved: boolean }> {
    const { environment, workflowId } = input.header;
    for (const s of input.metrics?.stepDurations ?? []) observeStepDuration(deps.metrics, environment, s.step, s.seconds);
    const window = input.metrics?.maintenanceSeconds;
    if (window !== undefined) deps.metrics.migrationMaintenanceSeconds.set({ environment }, window);
    const pool = deps.databases.pool(environment);
    if (!(await evidenceTablesExist(pool))) return { saved: false };
    await claim(pool, input.header);
    await appendEvidenceRows(pool, workflowId, input.rows);
    await updateMigrationRun(pool, workflowId, input.state);
    return { saved: true };
  }

  /** The run row, once per migration; a holder whose workflow no longer runs is closed, and its maintenance lifted. */
  async function claim(pool: Queryable, header: RunHeader): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const claimed = await claimMigrationRun(pool, header);
      if (claimed.claimed) return;
      const { holder } = claimed;
      const liveness = await deps.workflowLiveness(holder.workflowId);
      if (liveness.running || attempt > 0) {
        throw ApplicationFailure.nonRetryable(
          `another migration of ${header.environment} is open: ${holder.workflowId} (${holder.status}, since ${holder.startedAt}); ` +
            `wait for it, or stop it (\`temporal workflow cancel --workflow-id ${holder.workflowId}\`)`,
          'MigrationAlreadyRunning',
        );
      }
      await closeAbandonedMigration(deps, pool, holder.workflowId, liveness.status);
    }
  }

  /** The newest non-dry-run backfill run of the environment if it did not complete, to resume from (production policy). */
  async function findResumableRun(input: { environment: string }): Promise<string | null> {
    const last = await latestRealRun(deps.databases.pool(input.environment), input.environment);
    return last && ['failed', 'cancelled', 'terminated'].includes(last.status) ? last.runId : null;
  }

  /**
   * plan_db_write_error_total for the environment: from Prometheus when PLANDB_PROMETHEUS_URL is set
   * (every worker and the application report there), else this worker's own counters.
   */
  async function postCheck(input: { environment: string }): Promise<PostCheckResult> {
    const at = new Date().toISOString();
    const prometheus = process.env.PLANDB_PROMETHEUS_URL;
    if (prometheus) {
      const query = `sum(plan_db_write_error_total{environment="${input.environment}"}) or vector(0)`;
      const res = await fetch(`${prometheus.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`, {
        signal: AbortSignal.timeout(15_000),
      });
      if (!res.ok) throw new Error(`Prometheus query failed: HTTP ${res.status}`);
      const body = (await res.json()) as { data?: { result?: { value?: [number, string] }[] } };
      return { source: 'prometheus', writeErrors: Number(body.data?.result?.[0]?.value?.[1] ?? 0), at };
    }
    const metric = await deps.metrics.writeErrorTotal.get();
    const writeErrors = metric.values.filter((v) => v.labels.environment === input.environment).reduce((sum, v) => sum + v.value, 0);
    return { source: 'worker', writeErrors, at };
  }

  /** Rollback without a backup: empties the PlanRepository (plan_artifacts and the run history stay). */
  async function clearRepository(input: { environment: string }): Promise<{ cleared: RepositoryCounts | null }> {
    const pool = deps.databases.pool(input.environment);
    const before = await repositoryCounts(pool);
    if (before) await truncateRepository(pool);
    await refreshRepositoryRowsAfter(deps, input.environment, 'rollback');
    deps.logger.warn({ event: 'repository_cleared', environment: input.environment, before });
    return { cleared: before };
  }

  return { resolveMigrationPolicy, migrate, recordMigration, findResumableRun, postCheck, clearRepository };
}
