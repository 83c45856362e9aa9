/** Activities the environment migration needs around the big steps: policy, schema, evidence, resume, post-check. */
import { getEnvironment } from '../config/environment';
import { resolvePolicy } from '../config/policy';
import { withClient } from '../db/connection';
import { saveMigrationRun } from '../db/migration-runs';
import { upgrade } from '../db/migrator';
import { repositoryCounts, RepositoryCounts, REPOSITORY_TABLES } from '../db/repository-stats';
import { markGateOpen, observeStepDuration } from '../metrics/registry';
import type { MigrationEvidence, MigrationOverrides, MigrationPolicy, StepRecord } from '../model/migration';
import type { ActivityDeps } from './deps';

export interface PostCheckResult {
  source: 'prometheus' | 'worker';
  /** Sum of plan_db_write_error_total for the environment. */
  writeErrors: number;
  at: string;
}

export function createMigrationActivities(deps: ActivityDeps) {
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
   * Saves the evidence and reports what it says to the metrics: the step that just finished (its
   * duration) and the gate that is open, if any (the alert on migrations waiting too long for a person).
   */
  async function saveEvidence(
    evidence: MigrationEvidence,
    change: { finishedStep?: StepRecord; gate?: { name: string; open: boolean } } = {},
  ): Promise<{ saved: boolean }> {
    const { environment } = evidence;
    if (change.finishedStep?.finishedAt) {
      const s = change.finishedStep;
      observeStepDuration(deps.metrics, environment, s.name, (Date.parse(s.finishedAt!) - Date.parse(s.startedAt)) / 1000);
    }
    if (change.gate) markGateOpen(deps.metrics, environment, change.gate.name, change.gate.open);
    return { saved: await saveMigrationRun(deps.databases.pool(environment), evidence) };
  }

  /** The newest unfinished, non-dry-run backfill run of the environment, to resume from (production policy). */
  async function findResumableRun(input: { environment: string }): Promise<string | null> {
    const res = await deps.databases.pool(input.environment).query<{ run_id: string; status: string }>(
      `SELECT run_id, status FROM plan_backfill_runs WHERE environment = $1 AND mode <> 'dry-run'
        ORDER BY started_at DESC LIMIT 1`,
      [input.environment],
    );
    const last = res.rows[0];
    return last && ['failed', 'cancelled'].includes(last.status) ? last.run_id : null;
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
    if (before) await pool.query(`TRUNCATE ${REPOSITORY_TABLES.join(', ')}`);
    deps.logger.warn({ event: 'repository_cleared', environment: input.environment, before });
    return { cleared: before };
  }

  return { resolveMigrationPolicy, migrate, saveEvidence, findResumableRun, postCheck, clearRepository };
}
