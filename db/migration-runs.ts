/**
 * `plan_migration_runs` and `plan_migration_steps`: each environment migration's evidence, kept beyond
 * Temporal's history retention. The run row is the claim (one open migration per environment, a
 * unique partial index) and the header; every step transition, approval, decision, compensation and
 * the stop is one small append-only row, so nothing grows with the length of the migration.
 */
import type {
  ApprovalRecord,
  CompensationRecord,
  DecideRequest,
  EvidenceKind,
  EvidenceRow,
  MigrationEvidence,
  MigrationPolicy,
  StepName,
  StepRecord,
} from '../model/migration';
import type { MigrationState } from '../model/migration-state';
import type { NotificationRecord } from '../model/notifications';
import { Queryable } from './connection';

export type { EvidenceKind, EvidenceRow } from '../model/migration';
import { tableExists } from './server-info';

export interface RunHeader {
  workflowId: string;
  environment: string;
  startedAt: string;
  policy: MigrationPolicy | null;
}

export interface RunState {
  status: MigrationState;
  currentStep: string | null;
  refusedSignals: number;
  /** Set when the migration ended: its final status is `status`. */
  finished?: { at: string; reason: string };
}

export interface OpenMigration {
  workflowId: string;
  environment: string;
  status: string;
  startedAt: string;
}

/** False before the first schema migration created the tables. */
export function evidenceTablesExist(db: Queryable): Promise<boolean> {
  return tableExists(db, 'plan_migration_steps');
}

/**
 * Inserts the run row, or finds it (a retry). Another open migration of the environment makes the
 * unique partial index refuse it: then that one is returned as `holder`.
 */
export async function claimMigrationRun(
  db: Queryable,
  h: RunHeader,
): Promise<{ claimed: true } | { claimed: false; holder: OpenMigration }> {
  try {
    await db.query(
      `INSERT INTO plan_migration_runs (workflow_id, environment, status, evidence, started_at)
       VALUES ($1, $2, 'running', $3, $4) ON CONFLICT (workflow_id) DO NOTHING`,
      [h.workflowId, h.environment, JSON.stringify({ policy: h.policy }), h.startedAt],
    );
    return { claimed: true };
  } catch (err) {
    if ((err as { code?: string; constraint?: string }).constraint !== 'plan_migration_runs_one_open_idx') throw err;
    const [holder] = (await openMigrationRuns(db)).filter((r) => r.environment === h.environment);
    if (!holder) throw err; // closed in between: the caller's retry claims it
    return { claimed: false, holder };
  }
}

/** Migrations not finished, oldest first (the reconciler checks their workflows). */
export async function openMigrationRuns(db: Queryable): Promise<OpenMigration[]> {
  const res = await db.query<{ workflow_id: string; environment: string; status: string; started_at: Date }>(
    `SELECT workflow_id, environment, status, started_at FROM plan_migration_runs WHERE finished_at IS NULL ORDER BY started_at`,
  );
  return res.rows.map((r) => ({
    workflowId: r.workflow_id,
    environment: r.environment,
    status: r.status,
    startedAt: r.started_at.toISOString(),
  }));
}

// jsonb refuses \u0000 even escaped; untrusted text in a summary must never fail the evidence write.
const storableJson = (v: unknown) => JSON.stringify(v ?? {}).replace(/\\u0000/g, '\\\\u0000');

export async function appendEvidenceRows(db: Queryable, workflowId: string, rows: EvidenceRow[]): Promise<void> {
  if (!rows.length) return;
  await db.query(
    `INSERT INTO plan_migration_steps (workflow_id, seq, kind, name, status, attempt, summary, error, actor, comment, at)
     SELECT $1, * FROM unnest($2::int4[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::jsonb[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
     ON CONFLICT (workflow_id, seq) DO NOTHING`,
    [
      workflowId,
      rows.map((r) => r.seq),
      rows.map((r) => r.kind),
      rows.map((r) => r.name),
      rows.map((r) => r.status),
      rows.map((r) => r.attempt ?? null),
      rows.map((r) => storableJson(r.summary)),
      rows.map((r) => r.error ?? null),
      rows.map((r) => r.actor ?? null),
      rows.map((r) => r.comment ?? null),
      rows.map((r) => r.at),
    ],
  );
}

/** Updates the run row's state; a finished run is never reopened or changed again. */
export async function updateMigrationRun(db: Queryable, workflowId: string, s: RunState): Promise<void> {
  await db.query(
    `UPDATE plan_migration_runs SET status = $2, current_step = $3, refused_signals = GREATEST(refused_signals, $4),
            finished_at = $5, closed_reason = $6
      WHERE workflow_id = $1 AND finished_at IS NULL`,
    [workflowId, s.status, s.currentStep, s.refusedSignals, s.finished?.at ?? null, s.finished?.reason ?? null],
  );
}

/**
 * Closes a migration whose workflow ended without closing it (terminated, timed out): the reconciler's
 * part. Returns false when it was already closed.
 */
export async function closeMigrationRun(db: Queryable, workflowId: string, status: MigrationState, reason: string): Promise<boolean> {
  // One statement: the close and its stop row are atomic without a transaction.
  const res = await db.query(
    `WITH closed AS (
       UPDATE plan_migration_runs SET status = $2, finished_at = now(), closed_reason = $3, current_step = NULL
        WHERE workflow_id = $1 AND finished_at IS NULL RETURNING workflow_id)
     INSERT INTO plan_migration_steps (workflow_id, seq, kind, name, status, comment, at)
     SELECT workflow_id, (SELECT coalesce(max(seq), 0) + 1 FROM plan_migration_steps WHERE workflow_id = $1), 'stop', $2, $2, $3, now()
       FROM closed RETURNING 1`,
    [workflowId, status, reason],
  );
  return (res.rowCount ?? 0) > 0;
}

interface StepRow {
  seq: number;
  kind: EvidenceKind;
  name: string;
  status: string;
  attempt: number | null;
  summary: unknown;
  error: string | null;
  actor: string | null;
  comment: string | null;
  at: Date;
}

/** The evidence document, rebuilt from the run row and its rows (the CLI renders it as Markdown or JSON). */
export async function getMigrationRun(db: Queryable, workflowId: string): Promise<MigrationEvidence | null> {
  if (!(await evidenceTablesExist(db))) return null;
  const run = await db.query<{
    environment: string;
    status: MigrationState;
    current_step: StepName | null;
    evidence: { policy?: MigrationPolicy | null };
    started_at: Date;
    finished_at: Date | null;
    closed_reason: string | null;
    refused_signals: number;
  }>(
    `SELECT environment, status, current_step, evidence, started_at, finished_at, closed_reason, refused_signals
       FROM plan_migration_runs WHERE workflow_id = $1`,
    [workflowId],
  );
  const r = run.rows[0];
  if (!r) return null;
  const rows = await db.query<StepRow>(
    `SELECT seq, kind, name, status, attempt, summary, error, actor, comment, at FROM plan_migration_steps WHERE workflow_id = $1 ORDER BY seq`,
    [workflowId],
  );
  const e: MigrationEvidence = {
    workflowId,
    environment: r.environment,
    status: r.status,
    currentStep: r.current_step,
    openGate: null,
    policy: r.evidence.policy ?? null,
    steps: [],
    approvals: [],
    decisions: [],
    refusedSignals: r.refused_signals,
    compensations: [],
    stopReason: r.closed_reason,
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
  for (const row of rows.rows) applyRow(e, row);
  return e;
}

function applyRow(e: MigrationEvidence, row: StepRow): void {
  const at = row.at.toISOString();
  switch (row.kind) {
    case 'step': {
      const name = row.name as StepName;
      // A gate's step row carries {gate}: open while the step runs.
      const gate = (row.summary as { gate?: unknown } | null)?.gate;
      if (typeof gate === 'string') e.openGate = row.status === 'running' ? gate : null;
      const open = e.steps.find((s) => s.name === name && s.attempt === (row.attempt ?? 1) && s.status === 'running');
      if (row.status === 'running' || !open) {
        const record: StepRecord = {
          name,
          status: 'running',
          attempt: row.attempt ?? 1,
          startedAt: at,
          finishedAt: null,
          output: row.summary,
          error: null,
        };
        e.steps.push(record);
        if (row.status === 'running') return;
        return void Object.assign(record, { status: row.status, finishedAt: at, output: row.summary, error: row.error });
      }
      Object.assign(open, { status: row.status, finishedAt: at, output: row.summary, error: row.error });
      return;
    }
    case 'approval': {
      const note = (row.summary as { note?: string } | null)?.note;
      const a: ApprovalRecord = { gate: row.name, approver: row.actor ?? '', decision: row.status as ApprovalRecord['decision'], at };
      if (row.comment !== null) a.comment = row.comment;
      if (note) a.note = note;
      e.approvals.push(a);
      return;
    }
    case 'decision': {
      const d: DecideRequest & { at: string; step: StepName } = {
        action: row.status as DecideRequest['action'],
        at,
        step: row.name as StepName,
      };
      if (row.actor !== null) d.by = row.actor;
      if (row.comment !== null) d.comment = row.comment;
      e.decisions.push(d);
      return;
    }
    case 'compensation':
      e.compensations.push({
        name: row.name as CompensationRecord['name'],
        status: row.status as CompensationRecord['status'],
        at,
        error: row.error,
      });
      return;
    case 'notification': {
      const t = (row.summary ?? {}) as Pick<NotificationRecord, 'target' | 'kind' | 'urlEnv' | 'httpStatus'>;
      (e.notifications ??= []).push({
        event: row.name as NotificationRecord['event'],
        target: t.target,
        kind: t.kind,
        urlEnv: t.urlEnv,
        status: row.status as NotificationRecord['status'],
        attempts: row.attempt ?? 0,
        httpStatus: t.httpStatus ?? null,
        error: row.error,
        at,
      });
      return;
    }
    case 'stop':
      e.stopReason = row.comment;
      return;
  }
}
