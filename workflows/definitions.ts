/**
 * Signals, updates and queries of plandb's workflows, and the types they carry. Shared by the
 * workflows and the CLI (which imports this module to send them). Pure.
 */
import { ApplicationFailure, defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { MAX_SHARDS, type BackfillMode, type BackfillShard, type RunCounters, type RunStatus } from '../model/backfill';
import type { ThrottleHold, ThrottleReason } from '../model/throttle';
import { MAX_TARGET_SECONDS, type TunerConfig, type TunerState } from '../model/batch-tuner';
import { checkCatchUpOverride, type CatchUpPolicy, type CatchUpState } from '../model/catch-up';
import type { ApprovalRecord, DecideRequest, GateDecision, MigrationEvidence, MigrationOverrides } from '../model/migration';
import { checkEnvironmentName } from '../model/ids';
import type { NotificationRecord } from '../model/notifications';
import type { MigrationState } from '../model/migration-state';
import { checkText, MAX_NAME } from '../model/text';
import { parseSince } from '../model/legacy-usage';

export const MIN_BATCH_SIZE = 1;
export const MAX_BATCH_SIZE = 50_000;
export { DEFAULT_BATCH_SIZE } from '../model/backfill';
export const DEFAULT_MAX_ERRORS = 1000;

// ---- backfillRepository ----

export interface BackfillInput {
  environment: string;
  dryRun?: boolean;
  force?: boolean;
  /** The online cut-over's final delta (BackfillMode 'delta'): the whole range, versions changed in place rewritten. */
  delta?: boolean;
  /** Process at most this many artifacts. */
  limit?: number;
  batchSize?: number;
  /** A previous run id (continue from its checkpoint) or `artifact:<id>` (start after it). */
  resumeFrom?: string;
  maxErrors?: number;
  /**
   * Error replay: a previous run id whose unresolved errors this run re-reads (only those artifacts, after they
   * were fixed in plan_artifacts), as a new run linked to it. Not with dryRun, resumeFrom, limit or shards > 1.
   */
  retryErrors?: string;
  /** Split the run's range into this many shards, processed at once; default: the environment's backfill.shards. */
  shards?: number;
  /** Override of the environment's backfill.tuning (the self-tuning batch size). */
  tuning?: Partial<TunerConfig>;
  /** How long one backfillChunk activity works before handing control back (ms). */
  chunkBudgetMs?: number;
  /** Override of the environment's backfill.catchUp (passes over what the application appended meanwhile). */
  catchUp?: Partial<CatchUpPolicy>;
  /** Continue-as-new after this many chunks even if the SDK does not suggest it yet (tests, history control). */
  continueAsNewAfterChunks?: number;
  /** A rate predicted from an earlier run (model/backfill-eta.ts): the ETA uses it until the run has measured its own. */
  predictedArtifactsPerSecond?: number;
  /** Set by the workflow itself when it continues as new. */
  carried?: BackfillCarriedState;
}

export interface BackfillCarriedState {
  runId: string;
  batchSize: number;
  paused: boolean;
  startedAtMs: number;
  chunks: number;
  continuedAsNew: number;
  /** The health throttle's hold at the last chunk's end (absent in executions started before it); shard 0's. */
  throttle?: ThrottleHold;
  /** The run's shard count (absent in executions started before shards: 1). */
  shards?: number;
  /** Holds of shards other than 0, by shard number. */
  throttles?: Record<string, ThrottleHold>;
  /** Each shard's batch size tuner, by shard number. */
  tuners?: Record<string, TunerState>;
  /** The operator's pin (setBatchSize), null when released. */
  pinnedBatchSize?: number | null;
  /** The run loads on the bulk path: its keys are built when the shards are done. */
  bulkLoad?: boolean;
  /** Why the bulk path was or was not taken. */
  bulkLoadReason?: string;
  /** The catch-up pass in progress (its shards start at firstShard), and whether the bulk path's keys are built. */
  catchUp?: { pass: number; firstShard: number; bulkBuilt: boolean };
}

/** One shard in `progress`: where its cursor is in its part of the range. */
export type ShardProgress = Pick<
  BackfillShard,
  'shard' | 'afterId' | 'upToId' | 'cursor' | 'artifactsTotal' | 'artifactsRead' | 'rowsWritten' | 'done'
> & {
  throttled: { reason: ThrottleReason; detail: string; seconds: number } | null;
};

export interface BackfillProgress extends RunCounters {
  runId: string | null;
  environment: string;
  mode: BackfillMode;
  status: RunStatus | 'starting';
  paused: boolean;
  batchSize: number;
  cursor: number;
  upToId: number;
  artifactsTotal: number;
  /** Artifacts per second since the run started. */
  artifactsPerSecond: number;
  /** Repository rows (versions + series + KPIs + events) per second since the run started. */
  rowsPerSecond: number;
  /** Seconds left at the current rate; null before there is a rate. */
  etaSeconds: number | null;
  /** Whether the ETA is from the run's own rate or, over its first batches, a predicted one (absent from older executions). */
  etaSource?: 'measured' | 'predicted';
  chunks: number;
  continuedAsNew: number;
  startedAt: string | null;
  updatedAt: string | null;
  /** Why the health throttle holds the backfill (backfill.throttle), and for how long so far; null: it does not (absent from older executions). */
  throttled?: { reason: ThrottleReason; detail: string; seconds: number } | null;
  /** Each shard, once the run has started (absent from older executions). */
  shards?: ShardProgress[];
  /** The batch size is the operator's (setBatchSize), not the tuner's (absent from older executions). */
  batchSizePinned?: boolean;
  /** Whether the run loads on the first load's bulk path, and why (null: not asked: a dry run, an older execution). */
  bulkLoad?: { chosen: boolean; reason: string } | null;
  /** A retry-errors run: the run whose errors it re-reads (absent from every other run). */
  retryOf?: string;
  /** The run's catch-up passes (run row plan_backfill_runs.catch_up); absent from older executions. */
  catchUp?: CatchUpState & { pass: number };
}

export type BackfillResult = BackfillProgress;

export interface PauseRequest {
  by?: string;
  reason?: string;
}

export const pauseSignal = defineSignal<[PauseRequest?]>('pause');
export const resumeSignal = defineSignal<[PauseRequest?]>('resume');
/**
 * `{ "batchSize": N }` pins the batch size at N (the tuner stops changing it); `{ "batchSize": "auto" }`
 * releases it to the tuner. A bare N is still accepted: running executions' callers and older clients
 * send one, and histories hold it.
 */
export type SetBatchSizeInput = { batchSize: number | 'auto' } | number;
/** Validated update: refuses sizes outside MIN_BATCH_SIZE..MAX_BATCH_SIZE; returns the size in use before. */
export const setBatchSizeUpdate = defineUpdate<number, [SetBatchSizeInput]>('setBatchSize');

/** Null when `input` is an acceptable setBatchSize input, else why not. */
export function checkSetBatchSize(input: unknown): string | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return checkBatchSize(input);
  const unknown = Object.keys(input).find((k) => k !== 'batchSize');
  if (unknown !== undefined)
    return `setBatchSize takes {"batchSize": N} or {"batchSize": "auto"}: unknown field ${JSON.stringify(unknown)}`;
  const n = (input as { batchSize?: unknown }).batchSize;
  return n === 'auto' ? null : checkBatchSize(n);
}

/** The pinned size, or null for "auto" (release to the tuner). */
export const batchSizeOf = (input: SetBatchSizeInput): number | null =>
  typeof input === 'number' ? input : input.batchSize === 'auto' ? null : input.batchSize;

/**
 * How an update validator refuses: non-retryable, type InvalidUpdate, on one line (the CLI prints it
 * after "refused …", the Web UI in a single row).
 */
export function refuseUpdate(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message.replace(/\s*\n\s*/g, ' ').trim(), 'InvalidUpdate');
}
export const progressQuery = defineQuery<BackfillProgress>('progress');

/** Null when `n` is an acceptable batch size, else why not. */
export function checkBatchSize(n: unknown): string | null {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < MIN_BATCH_SIZE || n > MAX_BATCH_SIZE) {
    return `batchSize must be a whole number from ${MIN_BATCH_SIZE} to ${MAX_BATCH_SIZE}, got ${JSON.stringify(n)}`;
  }
  return null;
}

// Backfill run ids are the workflow's uuid4().
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Null when `v` is a previous backfill run id (a UUID) or `artifact:<id>`, else why not. */
export function checkResumeFrom(v: unknown): string | null {
  if (typeof v === 'string' && (/^artifact:\d+$/.test(v) || RUN_ID.test(v))) return null;
  return `expected a previous backfill run id (a UUID, as \`plandb status\` shows) or artifact:<id>, got ${JSON.stringify(v)}`;
}

/** Null when `v` is a previous backfill run id (a UUID) whose errors can be retried, else why not. */
export function checkRetryErrors(v: unknown): string | null {
  if (typeof v === 'string' && RUN_ID.test(v)) return null;
  return `expected the id of a previous backfill run (a UUID, as \`plandb status\` shows), got ${JSON.stringify(v)}`;
}

/** Problems with a backfillRepository input, each naming the field; empty when it is fine. */
export function checkBackfillInput(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return ['the input must be a JSON object such as {"environment":"dev"}'];
  }
  const i = input as Record<string, unknown>;
  const problems: string[] = [];
  const known = [
    'environment',
    'dryRun',
    'force',
    'delta',
    'limit',
    'batchSize',
    'resumeFrom',
    'maxErrors',
    'shards',
    'tuning',
    'chunkBudgetMs',
    'catchUp',
    'continueAsNewAfterChunks',
    'predictedArtifactsPerSecond',
    'carried',
    'retryErrors',
  ];
  for (const key of Object.keys(i))
    if (!known.includes(key)) problems.push(`unknown field "${key}" (known: ${known.slice(0, 10).join(', ')})`);
  const envProblem = checkEnvironmentName(i.environment);
  if (envProblem) problems.push(envProblem);
  for (const flag of ['dryRun', 'force', 'delta'] as const) {
    if (i[flag] !== undefined && typeof i[flag] !== 'boolean') problems.push(`"${flag}" must be true or false`);
  }
  if (i.dryRun === true && i.force === true) problems.push('"dryRun" and "force" cannot both be true');
  if (i.delta === true && (i.dryRun === true || i.force === true || i.resumeFrom !== undefined || i.limit !== undefined))
    problems.push('"delta" covers the whole range: it cannot be combined with "dryRun", "force", "resumeFrom" or "limit"');
  const positive = (key: string) => {
    const v = i[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1))
      problems.push(`"${key}" must be a positive whole number, got ${JSON.stringify(v)}`);
  };
  positive('limit');
  positive('chunkBudgetMs');
  positive('continueAsNewAfterChunks');
  const predicted = i.predictedArtifactsPerSecond;
  if (predicted !== undefined && !(typeof predicted === 'number' && Number.isFinite(predicted) && predicted > 0))
    problems.push(`"predictedArtifactsPerSecond" must be a number > 0, got ${JSON.stringify(predicted)}`);
  if (i.shards !== undefined && !(typeof i.shards === 'number' && Number.isInteger(i.shards) && i.shards >= 1 && i.shards <= MAX_SHARDS)) {
    problems.push(`"shards" must be a whole number from 1 to ${MAX_SHARDS}, got ${JSON.stringify(i.shards)}`);
  }
  if (i.batchSize !== undefined) {
    const p = checkBatchSize(i.batchSize);
    if (p) problems.push(p.replace('batchSize', '"batchSize"'));
  }
  if (i.tuning !== undefined) problems.push(...checkTuning(i.tuning));
  if (i.catchUp !== undefined) problems.push(...checkCatchUpOverride(i.catchUp));
  if (i.maxErrors !== undefined && (typeof i.maxErrors !== 'number' || !Number.isSafeInteger(i.maxErrors) || i.maxErrors < 0)) {
    problems.push(`"maxErrors" must be a whole number >= 0, got ${JSON.stringify(i.maxErrors)}`);
  }
  if (i.resumeFrom !== undefined) {
    const p = checkResumeFrom(i.resumeFrom);
    if (p) problems.push(`"resumeFrom": ${p}`);
  }
  if (i.retryErrors !== undefined) problems.push(...checkRetryInput(i));
  return problems;
}

/** A retry-errors run re-reads one run's errors, in one shard, and writes: the options that say otherwise do not apply. */
function checkRetryInput(i: Record<string, unknown>): string[] {
  const p = checkRetryErrors(i.retryErrors);
  if (p) return [`"retryErrors": ${p}`];
  const problems: string[] = [];
  if (i.dryRun === true) problems.push('"retryErrors" and "dryRun" cannot both be set: a retry writes what was fixed');
  for (const key of ['resumeFrom', 'limit'] as const) {
    if (i[key] !== undefined)
      problems.push(`"retryErrors" and "${key}" cannot both be set: a retry re-reads all the unresolved errors of its run`);
  }
  if (i.shards !== undefined && i.shards !== 1)
    problems.push(`"retryErrors" runs in one shard: "shards" must be 1 or absent, got ${JSON.stringify(i.shards)}`);
  return problems;
}

/** Problems with a backfill input's `tuning`, by the config's rules (config/schema.ts tuningSchema). */
function checkTuning(t: unknown): string[] {
  if (typeof t !== 'object' || t === null || Array.isArray(t)) return ['"tuning" must be an object such as {"targetSeconds": 1}'];
  const o = t as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(o)) {
    if (!['targetSeconds', 'minBatchSize', 'maxBatchSize', 'enabled'].includes(key)) problems.push(`"tuning": unknown field "${key}"`);
  }
  if (
    o.targetSeconds !== undefined &&
    !(typeof o.targetSeconds === 'number' && o.targetSeconds > 0 && o.targetSeconds <= MAX_TARGET_SECONDS)
  ) {
    problems.push(`"tuning.targetSeconds" must be a number > 0 and <= ${MAX_TARGET_SECONDS}, got ${JSON.stringify(o.targetSeconds)}`);
  }
  for (const key of ['minBatchSize', 'maxBatchSize'] as const) {
    const p = o[key] === undefined ? null : checkBatchSize(o[key]);
    if (p) problems.push(p.replace('batchSize', `"tuning.${key}"`));
  }
  if (typeof o.minBatchSize === 'number' && typeof o.maxBatchSize === 'number' && o.minBatchSize > o.maxBatchSize) {
    problems.push('"tuning.maxBatchSize" must be at least "tuning.minBatchSize"');
  }
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') problems.push('"tuning.enabled" must be true or false');
  return problems;
}

// ---- environmentMigration / promotion ----

/** Opens (approves) a gate. As a signal it cannot be refused, so a bad one is recorded and ignored. */
export const approveSignal = defineSignal<[GateDecision]>('approve');
export const rejectSignal = defineSignal<[GateDecision]>('reject');
/** The same as validated updates: the validator refuses approvers outside the allow-list and gates that are not open. */
export const approveUpdate = defineUpdate<ApprovalRecord, [GateDecision]>('approve');
export const rejectUpdate = defineUpdate<ApprovalRecord, [GateDecision]>('reject');
/** After a failed step: retry it, roll back, or abort (maintenance is turned off on abort and after rollback). */
export const decideSignal = defineSignal<[DecideRequest]>('decide');
export const statusQuery = defineQuery<MigrationEvidence>('status');

export interface EnvironmentMigrationInput extends MigrationOverrides {
  environment: string;
}

export interface PromotionInput {
  environments: string[];
  /** Passed to every environment's migration. */
  overrides?: MigrationOverrides;
}

/** Why a gate decision is refused, or null when it is acceptable. Text is validated and capped (model/text.ts). */
export function checkGateDecision(d: unknown, openGate: string | null, approvers: string[]): string | null {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return 'expected {"gate": "...", "approver": "...", "comment": "..."}';
  const { gate, approver, comment } = d as Record<string, unknown>;
  const textProblem =
    checkText('gate', gate, { required: true, max: MAX_NAME, singleLine: true }) ??
    checkText('approver', approver, { required: true, max: MAX_NAME, singleLine: true }) ??
    checkText('comment', comment);
  if (textProblem) return textProblem;
  const approverName = approver as string;
  if (openGate === null) return `gate "${gate as string}" is not open (no gate is open)`;
  if (gate !== openGate) return `gate "${gate as string}" is not open (the open gate is "${openGate}")`;
  if (approvers.length && !approvers.includes(approverName)) {
    return `"${approverName}" may not decide gate "${gate}" (allowed: ${approvers.join(', ')})`;
  }
  return null;
}

/** Why a decide request is refused, or null. */
export function checkDecision(d: unknown): string | null {
  if (typeof d !== 'object' || d === null || Array.isArray(d))
    return 'expected {"action": "retry"|"rollback"|"abort", "by": "...", "comment": "..."}';
  const { action, by, comment } = d as Record<string, unknown>;
  if (action !== 'retry' && action !== 'rollback' && action !== 'abort') return '"action" must be retry, rollback or abort';
  return checkText('by', by, { max: MAX_NAME, singleLine: true }) ?? checkText('comment', comment);
}

export interface PromotionStatus {
  status: MigrationState;
  stages: { environment: string; workflowId: string; status: string }[];
  openGate: string | null;
  approvals: ApprovalRecord[];
  refusedSignals: number;
  stopReason: string | null;
  /** Deliveries of its gate notifications (the target environment's `notifications`); absent when none. */
  notifications?: NotificationRecord[];
}

/** The promotion's own `status` query (stages and the open gate). */
export const promotionStatusQuery = defineQuery<PromotionStatus>('status');

/** The `legacyUsage` workflow's input (a Schedule runs it: `plandb schedule legacy-usage`). */
export interface LegacyUsageWorkflowInput {
  environment: string;
  /** An ISO time, a reading id or "cutover"; default: the latest reset point. */
  since?: string;
}

/** Problems with a legacyUsage input, each naming the field; empty when it is fine. */
export function checkLegacyUsageInput(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return ['the input must be a JSON object such as {"environment":"production"}'];
  const i = input as Record<string, unknown>;
  const problems = Object.keys(i)
    .filter((key) => key !== 'environment' && key !== 'since')
    .map((key) => `unknown field "${key}" (known: environment, since)`);
  const envProblem = checkEnvironmentName(i.environment);
  if (envProblem) problems.push(envProblem);
  if (i.since !== undefined) {
    const since = typeof i.since === 'string' ? parseSince(i.since) : { error: `expected text, got ${JSON.stringify(i.since)}` };
    if ('error' in since) problems.push(`"since": ${since.error}`);
  }
  return problems;
}
