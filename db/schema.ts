/**
 * Drizzle schema of everything our migrations create: the PlanRepository and the operations tables.
 * The legacy table is declared apart, in legacy-schema.ts, so drizzle-kit never generates DDL for it.
 */
import { sql } from 'drizzle-orm';
import {
  AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  char,
  doublePrecision,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const tz = (name: string) => timestamp(name, { withTimezone: true });

// ---- PlanRepository ----
export const plans = pgTable('plans', {
  planId: text('plan_id').primaryKey(),
  name: text('name'),
  status: text('status'),
  latestVersion: integer('latest_version').notNull(),
  createdAt: tz('created_at').notNull().defaultNow(),
  updatedAt: tz('updated_at').notNull().defaultNow(),
});

export const planVersions = pgTable(
  'plan_versions',
  {
    planId: text('plan_id')
      .notNull()
      .references(() => plans.planId, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    // name/status per version: the legacy documents carry them per version, so keep them.
    name: text('name'),
    status: text('status'),
    runId: text('run_id'),
    summary: jsonb('summary')
      .notNull()
      .default(sql`'{}'::jsonb`),
    sourceArtifactId: bigint('source_artifact_id', { mode: 'number' }).unique(),
    sourceChecksum: char('source_checksum', { length: 64 }).notNull(),
    // md5(payload::text) of the artifact as the backfill read it: the online cut-over's delta reads again only
    // artifacts whose payload no longer has it (null for versions written before the column: always re-read).
    sourcePayloadMd5: char('source_payload_md5', { length: 32 }),
    artifactCreatedAt: tz('artifact_created_at'),
    backfilledAt: tz('backfilled_at').notNull().defaultNow(),
    backfillRunId: text('backfill_run_id'),
  },
  (t) => [primaryKey({ columns: [t.planId, t.version] })],
);

/** Children of a version go with it (on delete cascade). */
const versionRef = (name: string) => (t: { planId: AnyPgColumn; version: AnyPgColumn }) =>
  foreignKey({ name, columns: [t.planId, t.version], foreignColumns: [planVersions.planId, planVersions.version] }).onDelete('cascade');

export const planKpis = pgTable(
  'plan_kpis',
  {
    planId: text('plan_id').notNull(),
    version: integer('version').notNull(),
    name: text('name').notNull(),
    value: doublePrecision('value').notNull(),
    unit: text('unit'),
  },
  (t) => [primaryKey({ columns: [t.planId, t.version, t.name] }), versionRef('plan_kpis_version_fk')(t)],
);

export const planSeries = pgTable(
  'plan_series',
  {
    planId: text('plan_id').notNull(),
    version: integer('version').notNull(),
    item: text('item').notNull(),
    location: text('location').notNull(),
    period: text('period').notNull(),
    metric: text('metric').notNull(),
    value: doublePrecision('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.planId, t.version, t.item, t.location, t.period, t.metric] }), versionRef('plan_series_version_fk')(t)],
);

export const planEvents = pgTable(
  'plan_events',
  {
    planId: text('plan_id').notNull(),
    version: integer('version').notNull(),
    seq: integer('seq').notNull(),
    at: tz('at').notNull(),
    type: text('type').notNull(),
    actor: text('actor'),
    detail: jsonb('detail')
      .notNull()
      .default(sql`'{}'::jsonb`),
  },
  (t) => [primaryKey({ columns: [t.planId, t.version, t.seq] }), versionRef('plan_events_version_fk')(t)],
);

// ---- Operations ----
export const planBackfillRuns = pgTable(
  'plan_backfill_runs',
  {
    runId: text('run_id').primaryKey(),
    environment: text('environment').notNull(),
    workflowId: text('workflow_id'),
    mode: text('mode', { enum: ['dry-run', 'normal', 'force'] }).notNull(),
    status: text('status', { enum: ['running', 'paused', 'completed', 'failed', 'cancelled', 'terminated'] }).notNull(),
    options: jsonb('options')
      .notNull()
      .default(sql`'{}'::jsonb`),
    cursor: bigint('cursor', { mode: 'number' }).notNull().default(0),
    // The run's fixed range end (max(id) at start) and its artifact limit, so a resumed run ends where it would have.
    upToId: bigint('up_to_id', { mode: 'number' }).notNull().default(0),
    runLimit: bigint('run_limit', { mode: 'number' }),
    artifactsTotal: bigint('artifacts_total', { mode: 'number' }).notNull().default(0),
    artifactsRead: bigint('artifacts_read', { mode: 'number' }).notNull().default(0),
    versionsWritten: bigint('versions_written', { mode: 'number' }).notNull().default(0),
    versionsSkipped: bigint('versions_skipped', { mode: 'number' }).notNull().default(0),
    versionsRejected: bigint('versions_rejected', { mode: 'number' }).notNull().default(0),
    versionsConflicted: bigint('versions_conflicted', { mode: 'number' }).notNull().default(0),
    plansWritten: bigint('plans_written', { mode: 'number' }).notNull().default(0),
    seriesWritten: bigint('series_written', { mode: 'number' }).notNull().default(0),
    kpisWritten: bigint('kpis_written', { mode: 'number' }).notNull().default(0),
    eventsWritten: bigint('events_written', { mode: 'number' }).notNull().default(0),
    errorsCount: bigint('errors_count', { mode: 'number' }).notNull().default(0),
    errors: jsonb('errors')
      .notNull()
      .default(sql`'[]'::jsonb`),
    startedAt: tz('started_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
    finishedAt: tz('finished_at'),
    // Why a run ended (a person's note, the failure, or what the reconciler saw of its workflow).
    closedReason: text('closed_reason'),
    // A retry-errors run: the run whose unresolved errors it re-reads (db/error-replay.ts).
    retryOfRunId: text('retry_of_run_id'),
    // Catch-up passes (model/catch-up.ts): how many started, and each one's range and sums.
    catchUpPass: integer('catch_up_pass').notNull().default(0),
    catchUp: jsonb('catch_up')
      .notNull()
      .default(sql`'{"passes": [], "ended": null}'::jsonb`),
  },
  (t) => [
    index('plan_backfill_runs_env_started_idx').on(t.environment, t.startedAt),
    // The one-active-run-per-environment rule, atomic under simultaneous starts.
    uniqueIndex('plan_backfill_runs_one_active_idx')
      .on(t.environment)
      .where(sql`status IN ('running', 'paused')`),
  ],
);

/**
 * One shard of a backfill run: a part (after_id, up_to_id] of the run's range with its own checkpoint and
 * counters, so several chunk activities (on any workers) advance one run at once. The run row holds the sums.
 */
export const planBackfillShards = pgTable(
  'plan_backfill_shards',
  {
    runId: text('run_id')
      .notNull()
      .references(() => planBackfillRuns.runId, { onDelete: 'cascade' }),
    shard: integer('shard').notNull(),
    afterId: bigint('after_id', { mode: 'number' }).notNull(),
    upToId: bigint('up_to_id', { mode: 'number' }).notNull(),
    cursor: bigint('cursor', { mode: 'number' }).notNull(),
    artifactsTotal: bigint('artifacts_total', { mode: 'number' }).notNull().default(0),
    artifactsRead: bigint('artifacts_read', { mode: 'number' }).notNull().default(0),
    versionsWritten: bigint('versions_written', { mode: 'number' }).notNull().default(0),
    rowsWritten: bigint('rows_written', { mode: 'number' }).notNull().default(0),
    errorsCount: bigint('errors_count', { mode: 'number' }).notNull().default(0),
    batches: integer('batches').notNull().default(0),
    done: boolean('done').notNull().default(false),
    // The catch-up pass that added this shard (0: the run's first range).
    pass: integer('pass').notNull().default(0),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.shard] })],
);

export const planBackfillErrors = pgTable(
  'plan_backfill_errors',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: text('run_id')
      .notNull()
      .references(() => planBackfillRuns.runId, { onDelete: 'cascade' }),
    artifactId: bigint('artifact_id', { mode: 'number' }),
    planId: text('plan_id'),
    version: integer('version'),
    reason: text('reason').notNull(),
    detail: jsonb('detail')
      .notNull()
      .default(sql`'{}'::jsonb`),
    at: tz('at').notNull().defaultNow(),
    // The retry-errors run that wrote (or no longer found) the artifact; null while it still needs a fix.
    resolvedByRunId: text('resolved_by_run_id'),
    resolvedAt: tz('resolved_at'),
  },
  (t) => [index('plan_backfill_errors_run_idx').on(t.runId, t.artifactId)],
);

export const planDbMaintenance = pgTable('plan_db_maintenance', {
  scope: text('scope').primaryKey(),
  enabled: boolean('enabled').notNull(),
  reason: text('reason'),
  actor: text('actor'),
  since: tz('since').notNull().defaultNow(),
  // The workflow that turned maintenance on: "on, owner not running" is a flag left behind.
  ownerWorkflowId: text('owner_workflow_id'),
});

export const planDbBackups = pgTable('plan_db_backups', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  environment: text('environment').notNull(),
  location: text('location').notNull(),
  sha256: char('sha256', { length: 64 }),
  bytes: bigint('bytes', { mode: 'number' }),
  format: text('format').notNull().default('custom'),
  pgDumpVersion: text('pg_dump_version'),
  serverVersion: text('server_version'),
  verified: boolean('verified').notNull().default(false),
  workflowId: text('workflow_id'),
  startedAt: tz('started_at').notNull().defaultNow(),
  finishedAt: tz('finished_at'),
});

export const planDbTrimRuns = pgTable('plan_db_trim_runs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  environment: text('environment').notNull(),
  maxRows: bigint('max_rows', { mode: 'number' }).notNull(),
  rowsBefore: bigint('rows_before', { mode: 'number' }).notNull(),
  rowsTrimmed: bigint('rows_trimmed', { mode: 'number' }).notNull(),
  versionsTrimmed: bigint('versions_trimmed', { mode: 'number' }).notNull(),
  dryRun: boolean('dry_run').notNull(),
  workflowId: text('workflow_id'),
  at: tz('at').notNull().defaultNow(),
});

export const planMigrationRuns = pgTable(
  'plan_migration_runs',
  {
    workflowId: text('workflow_id').primaryKey(),
    environment: text('environment').notNull(),
    status: text('status').notNull(),
    currentStep: text('current_step'),
    // The run's header (policy, workflow run id); steps, approvals and decisions are plan_migration_steps rows.
    evidence: jsonb('evidence')
      .notNull()
      .default(sql`'{}'::jsonb`),
    startedAt: tz('started_at').notNull().defaultNow(),
    finishedAt: tz('finished_at'),
    closedReason: text('closed_reason'),
    // Refused approve/reject signals: all counted, only the first few kept as rows.
    refusedSignals: integer('refused_signals').notNull().default(0),
  },
  // One open migration per environment, atomic under simultaneous starts.
  (t) => [
    uniqueIndex('plan_migration_runs_one_open_idx')
      .on(t.environment)
      .where(sql`finished_at IS NULL`),
  ],
);

/** Append-only evidence: one small row per step transition, gate, approval, decision or stop. */
export const planMigrationSteps = pgTable(
  'plan_migration_steps',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workflowId: text('workflow_id')
      .notNull()
      .references(() => planMigrationRuns.workflowId, { onDelete: 'cascade' }),
    // Assigned by the workflow, so an activity retry inserts nothing twice.
    seq: integer('seq').notNull(),
    kind: text('kind', { enum: ['step', 'gate', 'approval', 'decision', 'compensation', 'notification', 'stop'] }).notNull(),
    name: text('name').notNull(),
    status: text('status').notNull(),
    attempt: integer('attempt'),
    // Ids and counts only (a backup id, a verify report id, a run id), never rows.
    summary: jsonb('summary')
      .notNull()
      .default(sql`'{}'::jsonb`),
    error: text('error'),
    actor: text('actor'),
    comment: text('comment'),
    at: tz('at').notNull(),
  },
  (t) => [uniqueIndex('plan_migration_steps_seq_idx').on(t.workflowId, t.seq)],
);

/** Verify reports, stored by verify; the migration's evidence refers to them by id. */
export const planVerifyReports = pgTable('plan_verify_reports', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  environment: text('environment').notNull(),
  workflowId: text('workflow_id'),
  passed: boolean('passed').notNull(),
  report: jsonb('report').notNull(),
  at: tz('at').notNull().defaultNow(),
});

/**
 * Readings of plan_artifacts' usage statistics (pg_stat_user_tables, and pg_stat_statements where loaded):
 * the reset points (`reset`, `cutover`) that `plandb legacy-usage` reports deltas against, and every report
 * (`report`, with its result: the standalone evidence), whose statement calls date each statement's last use.
 */
export const planLegacyUsageSnapshots = pgTable(
  'plan_legacy_usage_snapshots',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    environment: text('environment').notNull(),
    kind: text('kind', { enum: ['reset', 'cutover', 'report'] }).notNull(),
    takenAt: tz('taken_at').notNull().defaultNow(),
    actor: text('actor'),
    workflowId: text('workflow_id'),
    // The table's oid and the database's stats_reset: a recreated table or pg_stat_reset() starts the counters over.
    relid: bigint('relid', { mode: 'number' }),
    statsReset: tz('stats_reset'),
    // pg_stat_user_tables counters; null when plan_artifacts does not exist.
    counters: jsonb('counters'),
    // {queryid: {calls, rows}} of the statements that touch plan_artifacts; null without pg_stat_statements.
    statements: jsonb('statements'),
    statementsReset: tz('statements_reset'),
    // kind 'report': the snapshot it was measured against, and the result.
    referenceId: bigint('reference_id', { mode: 'number' }),
    report: jsonb('report'),
  },
  (t) => [index('plan_legacy_usage_snapshots_env_idx').on(t.environment, t.kind, t.takenAt)],
);
