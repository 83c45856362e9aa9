/**
 * The legacy-usage report (issue 11, checklist Follow-up: find the code that still depends on
 * plan_artifacts): reads and writes of the table since a reset point, and the statements that touch it.
 * `plandb legacy-usage` calls `createLegacyUsage` directly; the activities let a schedule or a migration
 * run it (their results are ids and counts; the full report is in its plan_legacy_usage_snapshots row).
 */
import { ApplicationFailure } from '@temporalio/common';
import {
  currentRole,
  findReference,
  insertSnapshot,
  readingsSince,
  readStatements,
  readTableUsage,
  statementsSource,
  storeReport,
} from '../db/legacy-usage';
import { tableExists } from '../db/server-info';
import {
  MAX_REPORTED_STATEMENTS,
  parseSince,
  reads,
  reportSummary,
  statementDelta,
  tableDelta,
  TABLE_COUNTERS,
  tuplesRead,
  writes,
  type LegacyUsageReport,
  type LegacyUsageSummary,
  type SnapshotKind,
  type StatementCounts,
  type TableCounters,
} from '../model/legacy-usage';
import type { ActivityDeps } from './deps';

export interface LegacyUsageInput {
  environment: string;
  /** An ISO time, a reset (snapshot) id, or "cutover"; default: the latest reset or cut-over. */
  since?: string;
  actor?: string;
  workflowId?: string;
}

export interface LegacyResetInput {
  environment: string;
  actor?: string;
  /** A migration's cut-over: a retry of the activity finds the reading it already took. */
  workflowId?: string;
}

export interface LegacyResetResult {
  environment: string;
  kind: SnapshotKind;
  snapshotId: number;
  takenAt: string;
}

/** Statements read per reading: the most called; far more than a report lists. */
const MAX_READ_STATEMENTS = 500;
/** Stored readings looked at to date last calls (the latest ones matter). */
const MAX_HISTORY = 500;

const zero = Object.fromEntries(TABLE_COUNTERS.map((k) => [k, 0])) as TableCounters;

export function createLegacyUsage(deps: ActivityDeps) {
  async function poolOf(environment: string) {
    const pool = deps.databases.pool(environment);
    if (!(await tableExists(pool, 'plan_legacy_usage_snapshots')))
      throw ApplicationFailure.nonRetryable(
        `${environment} has no plan_legacy_usage_snapshots table: apply the migrations first (plandb db upgrade --env ${environment})`,
        'RepositoryMissing',
      );
    return pool;
  }

  /** The current reading: the table's counters and, where pg_stat_statements can be read, its statements. */
  async function readNow(environment: string) {
    const pool = await poolOf(environment);
    const [table, source] = await Promise.all([readTableUsage(pool), statementsSource(pool)]);
    const statements = source.available ? await readStatements(pool, source, MAX_READ_STATEMENTS) : null;
    const counts: StatementCounts | null = statements
      ? Object.fromEntries(statements.statements.map((s) => [s.key, { calls: s.calls, rows: s.rows }]))
      : null;
    return { pool, table, source, statements, counts };
  }

  /** Records a reset point (`--reset`) or a cut-over (the migration's). */
  async function recordPoint(kind: 'reset' | 'cutover', input: LegacyResetInput): Promise<LegacyResetResult> {
    const now = await readNow(input.environment);
    if (kind === 'cutover' && input.workflowId) {
      const prior = await findReference(now.pool, input.environment, { kind: 'cutover' });
      if (prior && prior.workflowId === input.workflowId)
        return { environment: input.environment, kind, snapshotId: prior.id, takenAt: prior.takenAt };
    }
    const row = await insertSnapshot(now.pool, {
      environment: input.environment,
      kind,
      actor: input.actor ?? null,
      workflowId: input.workflowId ?? null,
      table: now.table,
      statements: now.counts,
      statementsReset: now.statements?.statementsReset ?? null,
    });
    deps.logger.info({ event: 'legacy_usage_reset_point', environment: input.environment, kind, snapshotId: row.id });
    return { environment: input.environment, kind, snapshotId: row.id, takenAt: row.takenAt };
  }

  /** Measures usage since the reference, stores the reading and the report (a `report` row), returns the report. */
  async function report(input: LegacyUsageInput): Promise<LegacyUsageReport> {
    const since = input.since === undefined ? undefined : parseSince(input.since);
    if (since && 'error' in since) throw ApplicationFailure.nonRetryable(`legacy-usage --since: ${since.error}`, 'InvalidInput');
    const now = await readNow(input.environment);
    const reference = await findReference(now.pool, input.environment, since);
    if (since && !reference) {
      const what =
        since.kind === 'snapshot'
          ? `no reading with id ${since.id}`
          : since.kind === 'cutover'
            ? 'no cut-over was recorded'
            : `no reading at or before ${since.at}`;
      throw ApplicationFailure.nonRetryable(
        `legacy-usage --since ${input.since}: ${what} for ${input.environment} (plandb legacy-usage --env ${input.environment} --reset records one)`,
        'InvalidInput',
      );
    }
    const history = now.statements ? await readingsSince(now.pool, input.environment, reference?.takenAt ?? null, MAX_HISTORY) : [];
    const row = await insertSnapshot(now.pool, {
      environment: input.environment,
      kind: 'report',
      actor: input.actor ?? null,
      workflowId: input.workflowId ?? null,
      table: now.table,
      statements: now.counts,
      statementsReset: now.statements?.statementsReset ?? null,
      referenceId: reference?.id ?? null,
    });
    const delta = now.table ? tableDelta(reference ?? null, now.table) : { counters: zero, restarted: null };
    const plandbRole = await currentRole(now.pool);
    const used = now.statements
      ? statementDelta({
          reference: reference ?? null,
          readings: history,
          current: now.statements.statements,
          now: row.takenAt,
          statementsReset: now.statements.statementsReset,
          plandbRole,
        })
      : { used: [], restarted: null };
    const application = used.used.filter((s) => !s.plandb);
    const own = used.used.filter((s) => s.plandb);
    const result: LegacyUsageReport = {
      environment: input.environment,
      measuredAt: row.takenAt,
      snapshotId: row.id,
      since: reference
        ? { id: reference.id, kind: reference.kind, at: reference.takenAt }
        : { id: null, kind: 'statistics', at: now.table?.statsReset ?? null },
      table: {
        present: now.table !== undefined,
        counters: delta.counters,
        reads: reads(delta.counters),
        tuplesRead: tuplesRead(delta.counters),
        writes: writes(delta.counters),
        restarted: delta.restarted,
      },
      statements: {
        available: now.source.available,
        unavailableReason: now.source.available ? null : now.source.reason,
        plandbRole,
        hidden: now.statements?.hidden ?? 0,
        application: application.slice(0, MAX_REPORTED_STATEMENTS),
        plandb: own.slice(0, MAX_REPORTED_STATEMENTS),
        omitted: Math.max(0, application.length - MAX_REPORTED_STATEMENTS) + Math.max(0, own.length - MAX_REPORTED_STATEMENTS),
        restarted: used.restarted,
      },
    };
    await storeReport(now.pool, row.id, result);
    deps.logger.info({ event: 'legacy_usage_reported', environment: input.environment, ...reportSummary(result) });
    return result;
  }

  return { report, recordPoint };
}

/** For workflows and schedules: ids and counts only (the report itself is in its row). */
export function createLegacyUsageActivities(deps: ActivityDeps) {
  const usage = createLegacyUsage(deps);
  return {
    legacyUsageReport: async (input: LegacyUsageInput): Promise<LegacyUsageSummary> => reportSummary(await usage.report(input)),
    /** The migration calls this at cut-over: the reference of the legacy-table metrics and alert. */
    recordLegacyCutover: (input: LegacyResetInput): Promise<LegacyResetResult> => usage.recordPoint('cutover', input),
  };
}
