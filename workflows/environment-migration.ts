/**
 * environmentMigration: the checklist for one environment as a durable sequence of steps —
 * preflight → [approval] → [maintenance on] → backup → migrate → [sample dry-run] → [approval] →
 * backfill (child) → verify → record capacity → [spot-check gate] → [maintenance off] → [post-check].
 * A failed step waits for `decide retry|rollback|abort`; evidence of every step is saved as it goes.
 */
import {
  ApplicationFailure,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  ApprovalRecord,
  DecideRequest,
  GateDecision,
  MigrationEvidence,
  MigrationPolicy,
  StepName,
  StepRecord,
} from '../model/migration';
import { long, quick, schema } from './activity-proxies';
import type { backfillRepository } from './backfill-repository';
import {
  approveSignal,
  approveUpdate,
  BackfillInput,
  checkDecision,
  checkGateDecision,
  decideSignal,
  EnvironmentMigrationInput,
  rejectSignal,
  rejectUpdate,
  statusQuery,
} from './definitions';
import { renderEvidenceSummary } from './evidence-markdown';
import { checkEnvironmentName, workflowIdFor } from '../model/ids';
import { rollbackProcedure } from './rollback';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from './search-attributes';

/** A human decision after a failure may take a while; past this the migration aborts. */
const DECISION_TIMEOUT_MS = 7 * 24 * 3_600_000;

/** Ends the migration without success (gate rejected or timed out, abort, rollback). */
class MigrationStopped extends Error {
  constructor(
    readonly status: 'rejected' | 'aborted' | 'rolled-back' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

const messageOf = (err: unknown): string => {
  let e = err as { message?: string; cause?: unknown } | undefined;
  // Temporal wraps activity and child failures: the root cause says what went wrong.
  while (e?.cause && typeof e.cause === 'object') e = e.cause as typeof e;
  return e?.message ?? String(err);
};

export async function environmentMigration(input: EnvironmentMigrationInput): Promise<MigrationEvidence> {
  const problem = checkEnvironmentName(input?.environment);
  if (problem) throw ApplicationFailure.nonRetryable(`invalid environmentMigration input: ${problem}`, 'InvalidInput');
  const { environment, ...overrides } = input;
  const { workflowId } = workflowInfo();
  const now = () => new Date().toISOString();
  const evidence: MigrationEvidence = {
    workflowId,
    environment,
    status: 'running',
    currentStep: null,
    openGate: null,
    policy: null,
    steps: [],
    approvals: [],
    decisions: [],
    startedAt: now(),
    finishedAt: null,
  };
  let policy: MigrationPolicy | null = null;
  let gateOutcome: ApprovalRecord | null = null;
  let decision: DecideRequest | null = null;

  // ---- handlers ----
  const decideGate = (d: GateDecision, decision: 'approved' | 'rejected'): ApprovalRecord => {
    const refusal = checkGateDecision(d, evidence.openGate, policy?.approval.approvers ?? []);
    const record: ApprovalRecord = {
      gate: d?.gate,
      approver: d?.approver,
      comment: d?.comment,
      decision: refusal ? 'refused' : decision,
      at: now(),
    };
    if (refusal) record.note = refusal;
    evidence.approvals.push(record);
    if (!refusal) gateOutcome = record;
    return record;
  };
  const validateGate = (d: GateDecision) => {
    const refusal = checkGateDecision(d, evidence.openGate, policy?.approval.approvers ?? []);
    if (refusal) throw new Error(refusal);
  };
  setHandler(approveSignal, (d) => void decideGate(d, 'approved'));
  setHandler(rejectSignal, (d) => void decideGate(d, 'rejected'));
  setHandler(approveUpdate, (d) => decideGate(d, 'approved'), { validator: validateGate });
  setHandler(rejectUpdate, (d) => decideGate(d, 'rejected'), { validator: validateGate });
  setHandler(decideSignal, (d) => {
    if (evidence.status === 'waiting-decision' && !checkDecision(d)) decision = d;
  });
  setHandler(statusQuery, () => evidence);

  // ---- publishing: search attributes, UI details, evidence row ----
  const publish = async (change: { finishedStep?: StepRecord; gate?: { name: string; open: boolean } } = {}) => {
    upsertSearchAttributes([
      { key: PLAN_DB_ENVIRONMENT, value: environment },
      { key: PLAN_DB_STEP, value: evidence.openGate ? `gate:${evidence.openGate}` : (evidence.currentStep ?? evidence.status) },
    ]);
    setCurrentDetails(renderEvidenceSummary(evidence));
    await quick.saveEvidence(evidence, change);
  };

  const awaitDecision = async (step: StepName): Promise<DecideRequest> => {
    evidence.status = 'waiting-decision';
    decision = null;
    await publish();
    const decided = await condition(() => decision !== null, DECISION_TIMEOUT_MS);
    const d: DecideRequest = decided && decision ? decision : { action: 'abort', by: 'plandb', comment: 'no decision within 7 days' };
    evidence.decisions.push({ ...d, at: now(), step });
    evidence.status = 'running';
    return d;
  };

  /** Runs a step; on failure waits for a decision: retry runs it again, rollback/abort stop the migration. */
  const step = async <T>(name: StepName, fn: () => Promise<T>, summarize: (t: T) => unknown = (t) => t): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const record: StepRecord = { name, status: 'running', attempt, startedAt: now(), finishedAt: null, output: null, error: null };
      evidence.steps.push(record);
      evidence.currentStep = name;
      evidence.status = name === 'post-check' ? 'post-check' : 'running';
      await publish();
      try {
        const out = await fn();
        Object.assign(record, { status: 'completed', finishedAt: now(), output: summarize(out) });
        await publish({ finishedStep: record });
        return out;
      } catch (err) {
        if (isCancellation(err) || err instanceof MigrationStopped) throw err;
        Object.assign(record, { status: 'failed', finishedAt: now(), error: messageOf(err) });
        const d = await awaitDecision(name);
        if (d.action === 'rollback')
          throw new MigrationStopped('rolled-back', `step ${name} failed (${record.error}); rolled back by ${d.by ?? 'unknown'}`);
        if (d.action === 'abort')
          throw new MigrationStopped('aborted', `step ${name} failed (${record.error}); aborted by ${d.by ?? 'unknown'}`);
      }
    }
  };

  const gate = async (name: string, stepName: StepName) => {
    const p = policy!;
    const record: StepRecord = {
      name: stepName,
      status: 'running',
      attempt: 1,
      startedAt: now(),
      finishedAt: null,
      output: { gate: name },
      error: null,
    };
    evidence.steps.push(record);
    evidence.currentStep = stepName;
    evidence.openGate = name;
    evidence.status = 'waiting-approval';
    gateOutcome = null;
    await publish({ gate: { name, open: true } });
    const decided = await condition(() => gateOutcome !== null, p.approval.timeoutMs);
    evidence.openGate = null;
    evidence.status = 'running';
    await publish({ gate: { name, open: false } });
    // Set by a signal or update handler while we waited.
    const outcome = gateOutcome as ApprovalRecord | null;
    if (!decided || !outcome) {
      evidence.approvals.push({ gate: name, approver: 'plandb', decision: 'timed-out', at: now() });
      Object.assign(record, { status: 'failed', finishedAt: now(), error: `no decision within ${p.approval.timeoutMs / 1000}s` });
      throw new MigrationStopped('failed', `gate "${name}" timed out after ${p.approval.timeoutMs / 1000}s without a decision`);
    }
    Object.assign(record, { finishedAt: now(), output: outcome });
    if (outcome.decision === 'rejected') {
      record.status = 'failed';
      record.error = `rejected by ${outcome.approver}`;
      throw new MigrationStopped(
        'rejected',
        `gate "${name}" rejected by ${outcome.approver}${outcome.comment ? `: ${outcome.comment}` : ''}`,
      );
    }
    record.status = 'completed';
    await publish({ finishedStep: record });
  };

  const backfillChild = (args: Omit<BackfillInput, 'environment'>) =>
    executeChild<typeof backfillRepository>('backfillRepository', {
      workflowId: workflowIdFor(environment, 'backfill'),
      args: [{ environment, ...args }],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });

  const setMaintenance = (enabled: boolean, reason: string) =>
    quick.setMaintenance({ environment, enabled, reason, actor: `plandb:${workflowId}` });

  // The backup to roll back to; none when no backup was taken or it predates the repository tables.
  let backupId: number | null = null;
  try {
    const p = await quick.resolveMigrationPolicy({ environment, overrides });
    policy = p;
    evidence.policy = p;
    const gateBeforeBackfill = p.approval.required && p.backfill.sampleLimit !== null;

    await step('preflight', () => long.preflight({ environment }));
    if (p.approval.required && !gateBeforeBackfill) await gate('start', 'approval');
    if (p.maintenance.mode !== 'none') await step('maintenance-on', () => setMaintenance(true, `plandb migration ${workflowId}`));
    if (p.backup.enabled) {
      const backup = await step('backup', () => long.backup({ environment, workflowId }));
      backupId = backup.skipped ? null : backup.backupId;
    }
    await step('migrate', () => schema.migrate({ environment }));
    if (p.backfill.sampleLimit !== null) {
      const limit = p.backfill.sampleLimit;
      await step('sample-dry-run', () => backfillChild({ dryRun: true, limit, batchSize: p.backfill.batchSize }));
    }
    if (gateBeforeBackfill) await gate('full-backfill', 'approval');
    await step('backfill', async () => {
      const resumeFrom = p.backfill.resume ? await quick.findResumableRun({ environment }) : null;
      return backfillChild({
        force: p.backfill.mode === 'force',
        batchSize: p.backfill.batchSize,
        maxErrors: p.backfill.maxErrors,
        ...(resumeFrom ? { resumeFrom } : {}),
      });
    });
    await step('verify', async () => {
      const result = await long.verify({ environment, sample: p.verify.sample, representativePlans: p.verify.representativePlans });
      if (!result.passed) throw ApplicationFailure.nonRetryable(`verification failed: ${result.problems.join('; ')}`, 'VerificationFailed');
      return result;
    });
    await step('record-capacity', () => quick.recordCapacity({ environment }));
    if (p.spotCheck.required) await gate('spot-check', 'spot-check');
    if (p.maintenance.mode !== 'none') await step('maintenance-off', () => setMaintenance(false, `plandb migration ${workflowId} done`));
    if (p.postCheck.hours > 0) {
      await step('post-check', async () => {
        const baseline = await quick.postCheck({ environment });
        const checks = [];
        const endMs = Date.now() + p.postCheck.hours * 3_600_000;
        while (Date.now() < endMs) {
          await sleep(Math.min(p.postCheck.intervalMs, endMs - Date.now()));
          const check = await quick.postCheck({ environment });
          checks.push(check);
          if (check.writeErrors > baseline.writeErrors) {
            throw ApplicationFailure.nonRetryable(
              `plan_db_write_error_total grew from ${baseline.writeErrors} to ${check.writeErrors} during the post-check (${check.source})`,
              'WriteErrorsGrew',
            );
          }
        }
        return { hours: p.postCheck.hours, baseline, checks: checks.length, last: checks.at(-1) ?? baseline };
      });
    }
    evidence.status = 'completed';
    evidence.currentStep = null;
    evidence.finishedAt = now();
    await publish();
    return evidence;
  } catch (err) {
    if (!(err instanceof MigrationStopped)) throw err;
    let stopped = err;
    const liftMaintenance = async () => {
      // Whatever stopped the migration, the application is not left in maintenance.
      if (policy && policy.maintenance.mode !== 'none')
        await setMaintenance(false, `plandb migration ${workflowId} stopped: ${stopped.status}`);
    };
    if (stopped.status === 'rolled-back') {
      const rollbackTo = backupId;
      const actor = `plandb:${workflowId}`;
      try {
        await step('rollback', () =>
          rollbackProcedure(
            rollbackTo === null
              ? { environment, mode: 'clear-repository', actor }
              : { environment, mode: 'restore-backup', backupId: rollbackTo, actor },
          ),
        );
      } catch (rollbackErr) {
        if (!(rollbackErr instanceof MigrationStopped)) throw rollbackErr;
        stopped = new MigrationStopped('failed', `the rollback did not complete and was given up: ${rollbackErr.message}`);
        await liftMaintenance();
      }
    } else {
      await liftMaintenance();
    }
    evidence.status = stopped.status;
    evidence.currentStep = null;
    evidence.openGate = null;
    evidence.finishedAt = now();
    await publish();
    throw ApplicationFailure.nonRetryable(
      `migration of ${environment} ${stopped.status}: ${stopped.message}`,
      `Migration${stopped.status}`,
    );
  }
}
