/** Shapes of an environment migration: its policy, steps, gates and evidence. Pure (workflows import it). */
import type { MaintenanceWindowSpec } from './maintenance-window';
import type { MigrationState } from './migration-state';
import type { NotificationRecord, NotificationTarget } from './notifications';

/**
 * How maintenance is placed around the backfill. `offline`: on for the whole backfill. `online`: the
 * backfill runs with the application live and maintenance covers only the final delta (workflows/online-cutover.ts).
 */
export const CUTOVER_MODES = ['online', 'offline'] as const;
export type CutoverMode = (typeof CUTOVER_MODES)[number];

/** The config's default: production goes online, every other environment keeps the offline order. */
export const defaultCutover = (environment: string): CutoverMode => (environment === 'production' ? 'online' : 'offline');

/** What one environment's migration does, resolved by the worker from config plus the start input's overrides. */
export interface MigrationPolicy {
  environment: string;
  approval: { required: boolean; approvers: string[]; timeoutMs: number };
  maintenance: { mode: 'none' | 'db-flag' | 'http' };
  /** When maintenance may be turned on (absent from policies resolved before windows existed). */
  maintenanceWindow?: MaintenanceWindowSpec | null;
  backup: { enabled: boolean; upload: boolean };
  backfill: { mode: 'normal' | 'force'; batchSize: number; sampleLimit: number | null; resume: boolean; maxErrors: number };
  verify: { sample: 'all' | number; representativePlans: number };
  spotCheck: { required: boolean };
  postCheck: { hours: number; intervalMs: number };
  /** Webhooks told of the migration's events; absent when none are configured (and in older executions). */
  notifications?: NotificationTarget[];
  /** Absent from policies resolved before the online cut-over existed: offline. Always offline without maintenance. */
  cutover?: CutoverMode;
}

/** Fields of the environmentMigration input that override the environment's configured policy. */
export interface MigrationOverrides {
  approvalRequired?: boolean;
  /** Duration such as "30m", "24h". */
  approvalTimeout?: string;
  backfillMode?: 'normal' | 'force';
  batchSize?: number;
  sampleLimit?: number | null;
  resume?: boolean;
  skipBackup?: boolean;
  spotCheckRequired?: boolean;
  postCheckHours?: number;
  /** How often the post-check looks at the metrics, e.g. "1h" (default: hourly, at most 4 checks). */
  postCheckInterval?: string;
  cutover?: CutoverMode;
}

export const STEP_NAMES = [
  'preflight',
  'approval',
  'maintenance-window',
  'maintenance-on',
  'backup',
  'migrate',
  'sample-dry-run',
  'backfill',
  'verify',
  'pre-delta',
  'verify-pre-delta',
  'delta',
  'verify-delta',
  'record-capacity',
  'spot-check',
  'maintenance-off',
  'legacy-cutover',
  'post-check',
  'rollback',
] as const;

export type StepName = (typeof STEP_NAMES)[number];

export type StepStatus = 'running' | 'completed' | 'failed' | 'skipped';

export interface StepRecord {
  name: StepName;
  status: StepStatus;
  attempt: number;
  startedAt: string;
  finishedAt: string | null;
  /** A small summary of what the step did (ids, counts, checksums): the evidence. */
  output: unknown;
  error: string | null;
}

export type GateName = 'start' | 'full-backfill' | 'cutover' | 'spot-check' | `promote-to-${string}`;

export interface GateDecision {
  gate: string;
  approver: string;
  comment?: string;
}

export interface ApprovalRecord extends GateDecision {
  decision: 'approved' | 'rejected' | 'refused' | 'timed-out';
  at: string;
  /** Why a signal was refused (approver not allowed, gate not open). */
  note?: string;
}

export type DecisionAction = 'retry' | 'rollback' | 'abort';

export interface DecideRequest {
  action: DecisionAction;
  by?: string;
  comment?: string;
}

/** The migration's state (model/migration-state.ts holds the transition table). */
export type MigrationRunStatus = MigrationState;

/** Refused approve/reject signals beyond this many are counted, not kept. */
export const MAX_REFUSED_KEPT = 10;

/** An undo registered by a step that changed the world, and what running it did. */
export interface CompensationRecord {
  name: 'maintenance-off' | 'close-backfill';
  status: 'completed' | 'failed';
  at: string;
  error: string | null;
}

export interface MigrationEvidence {
  workflowId: string;
  environment: string;
  status: MigrationRunStatus;
  currentStep: StepName | null;
  openGate: string | null;
  policy: MigrationPolicy | null;
  steps: StepRecord[];
  approvals: ApprovalRecord[];
  decisions: (DecideRequest & { at: string; step: StepName })[];
  /** Every refused approve/reject signal; only the first MAX_REFUSED_KEPT are in `approvals`. */
  refusedSignals: number;
  compensations: CompensationRecord[];
  /** Each webhook delivery; absent when no notification was sent. */
  notifications?: NotificationRecord[];
  /** How it ended, in a sentence; null while it runs. */
  stopReason: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** The online cut-over's delta and maintenance window (absent: offline, or not reached yet). */
  cutover?: CutoverEvidence;
}

/** The online cut-over, as far as it got. */
export interface CutoverEvidence {
  /** The delta taken with the application still live, just before maintenance (absent in executions without it). */
  preDelta?: DeltaSummary | null;
  delta: DeltaSummary | null;
  maintenanceWindow: MaintenanceWindow | null;
}

/** A delta's size (the pre-delta's, or the final one's under maintenance): counts and ids, never rows. */
export interface DeltaSummary {
  runId: string;
  /** The backfill's range end: the delta's new artifacts are those after it. */
  afterId: number;
  upToId: number;
  newArtifacts: number;
  newVersions: number;
  changedVersions: number;
  artifactsRead: number;
  errorsCount: number;
}

/** Maintenance on → off, as the workflow saw the two flips complete. */
export interface MaintenanceWindow {
  on: string;
  off: string | null;
  seconds: number | null;
}

/** The window closed at `off`. */
export function closeWindow(window: MaintenanceWindow, off: string): MaintenanceWindow {
  const seconds = (Date.parse(off) - Date.parse(window.on)) / 1000;
  return { on: window.on, off, seconds: Math.max(0, seconds) };
}

export type EvidenceKind = 'step' | 'approval' | 'decision' | 'compensation' | 'notification' | 'stop';

/** One evidence row (`plan_migration_steps`); `seq` is the workflow's own counter, so retries insert nothing twice. */
export interface EvidenceRow {
  seq: number;
  kind: EvidenceKind;
  name: string;
  status: string;
  attempt?: number | null;
  /** Ids and counts, never rows. */
  summary?: unknown;
  error?: string | null;
  actor?: string | null;
  comment?: string | null;
  at: string;
}

/** A migration's evidence before its first step. */
export function initialEvidence(workflowId: string, environment: string, startedAt: string): MigrationEvidence {
  return {
    workflowId,
    environment,
    status: 'running',
    currentStep: null,
    openGate: null,
    policy: null,
    steps: [],
    approvals: [],
    decisions: [],
    refusedSignals: 0,
    compensations: [],
    stopReason: null,
    startedAt,
    finishedAt: null,
  };
}
