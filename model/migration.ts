/** Shapes of an environment migration: its policy, steps, gates and evidence. Pure (workflows import it). */

/** What one environment's migration does, resolved by the worker from config plus the start input's overrides. */
export interface MigrationPolicy {
  environment: string;
  approval: { required: boolean; approvers: string[]; timeoutMs: number };
  maintenance: { mode: 'none' | 'db-flag' | 'http' };
  backup: { enabled: boolean; upload: boolean };
  backfill: { mode: 'normal' | 'force'; batchSize: number; sampleLimit: number | null; resume: boolean; maxErrors: number };
  verify: { sample: 'all' | number; representativePlans: number };
  spotCheck: { required: boolean };
  postCheck: { hours: number; intervalMs: number };
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
}

export type StepName =
  | 'preflight'
  | 'approval'
  | 'maintenance-on'
  | 'backup'
  | 'migrate'
  | 'sample-dry-run'
  | 'backfill'
  | 'verify'
  | 'record-capacity'
  | 'spot-check'
  | 'maintenance-off'
  | 'post-check'
  | 'rollback';

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

export type GateName = 'start' | 'full-backfill' | 'spot-check' | `promote-to-${string}`;

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

export type MigrationRunStatus =
  'running' | 'waiting-approval' | 'waiting-decision' | 'post-check' | 'completed' | 'rejected' | 'aborted' | 'rolled-back' | 'failed';

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
  startedAt: string;
  finishedAt: string | null;
}
