/**
 * environmentMigration: the checklist for one environment as a durable sequence of steps —
 * preflight → [approval] → [backup] → migrate → [maintenance on] → [sample dry-run] → [approval] →
 * backfill (child) → verify → record capacity → [spot-check gate] → [maintenance off] → legacy cut-over → [post-check].
 * With the online cut-over (policy `cutover: "online"`, workflows/online-cutover.ts) maintenance moves
 * after the backfill and its verify: … → verify → [cut-over gate] → [window] → pre-delta → verify it →
 * maintenance on → final delta → verify the delta → [spot-check gate] → maintenance off → record capacity →
 * legacy cut-over → [post-check].
 *
 * Its status moves only through the state machine (model/migration-state.ts). A failed step waits for
 * `decide retry|rollback|abort`. Every step that changes the world registers its undo first; every
 * stop but success — rejection, timeout, abort, rollback, failure and cancellation — runs the undos in
 * a non-cancellable scope, so maintenance is never left on. Evidence is one small row per transition,
 * written as the migration goes (the rows before the first schema migration wait in memory).
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { predictedRate } from '../model/backfill-eta';
import { checkEnvironmentName, workflowIdFor } from '../model/ids';
import {
  closeWindow,
  initialEvidence,
  type CompensationRecord,
  type DecideRequest,
  type EvidenceRow,
  type MigrationEvidence,
  type MigrationPolicy,
  type StepName,
  type StepRecord,
} from '../model/migration';
import { isFinal, transition, type MigrationEvent } from '../model/migration-state';
import { excerpt } from '../model/text';
import { long, quick, schema } from './activity-proxies';
import type { backfillRepository } from './backfill-repository';
import { BackfillInput, checkDecision, decideSignal, EnvironmentMigrationInput, statusQuery } from './definitions';
import { backfillEtaOf, renderEvidenceSummary } from './evidence-markdown';
import { installGates } from './gates';
import { windowStep } from './maintenance-window';
import { createNotifier } from './notifications';
import { finalDelta } from './online-cutover';
import { rollbackProcedure } from './rollback';
import { PLAN_DB_ENVIRONMENT, PLAN_DB_STEP } from './search-attributes';

/** A human decision after a failure may take a while; past this the migration aborts. */
const DECISION_TIMEOUT_MS = 7 * 24 * 3_600_000;
/** Step errors kept in evidence (the full failure stays in Temporal's history). */
const MAX_ERROR_TEXT = 2000;
/** The legacy-cut-over step and the post-check's legacy-usage report (executions started before them run neither). */
const LEGACY_USAGE_PATCH = 'legacy-usage';

/** Thrown once the state machine has reached a stop (or `rolling-back`): unwinds to the compensations. */
class Stop extends Error {}

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
  const evidence: MigrationEvidence = initialEvidence(workflowId, environment, now());
  let policy: MigrationPolicy | null = null;

  // ---- evidence rows, written by `flush` before each step's work and at every wait and stop ----
  let seq = 0;
  const pending: EvidenceRow[] = [];
  const stepDurations: { step: StepName; seconds: number }[] = [];
  let claimed = false;
  // The online cut-over's closed maintenance window, reported with the next flush (plan_migration_maintenance_seconds).
  let windowSeconds: number | null = null;
  const row = (r: Omit<EvidenceRow, 'seq'>) => void pending.push({ ...r, seq: ++seq });

  const gates = installGates((a) =>
    row({
      kind: 'approval',
      name: a.gate,
      status: a.decision,
      actor: a.approver,
      comment: a.comment ?? null,
      summary: a.note ? { note: a.note } : {},
      at: a.at,
    }),
  );
  const notifier = createNotifier({ environment, workflowId, policy: () => policy, evidence, row });
  let decision: DecideRequest | null = null;
  setHandler(decideSignal, (d) => {
    if (evidence.status === 'waiting-decision' && !checkDecision(d)) decision = d;
  });
  const view = (): MigrationEvidence => ({
    ...evidence,
    openGate: gates.openGate,
    approvals: gates.approvals,
    refusedSignals: gates.refusedSignals,
  });
  setHandler(statusQuery, view);

  const move = (event: MigrationEvent) => {
    evidence.status = transition(evidence.status, event);
  };
  const publish = () => {
    upsertSearchAttributes([
      { key: PLAN_DB_ENVIRONMENT, value: environment },
      { key: PLAN_DB_STEP, value: gates.openGate ? `gate:${gates.openGate}` : (evidence.currentStep ?? evidence.status) },
    ]);
    setCurrentDetails(renderEvidenceSummary(view()));
  };
  const flush = async () => {
    publish();
    const rows = pending.slice();
    const metrics = { stepDurations: stepDurations.splice(0), ...(windowSeconds !== null && { maintenanceSeconds: windowSeconds }) };
    const finished = evidence.finishedAt ? { at: evidence.finishedAt, reason: evidence.stopReason ?? evidence.status } : undefined;
    const { saved } = await quick.recordMigration({
      // The policy goes with the run row's first write only: later calls find the row.
      header: { workflowId, environment, startedAt: evidence.startedAt, policy: claimed ? null : policy },
      state: {
        status: evidence.status,
        currentStep: evidence.currentStep,
        refusedSignals: gates.refusedSignals,
        ...(finished ? { finished } : {}),
      },
      rows,
      metrics,
    });
    // Handlers may have queued rows meanwhile: drop only those written.
    if (saved) pending.splice(0, rows.length);
    windowSeconds = null;
    claimed ||= saved;
  };

  // ---- compensations: registered before the step that needs them, run on every stop but success ----
  const compensations: { name: CompensationRecord['name']; undo: () => Promise<unknown> }[] = [];
  const compensate = async () => {
    while (compensations.length) {
      const c = compensations.pop()!;
      const record: CompensationRecord = { name: c.name, status: 'completed', at: now(), error: null };
      try {
        await c.undo();
      } catch (err) {
        Object.assign(record, { status: 'failed', error: excerpt(messageOf(err), MAX_ERROR_TEXT) });
      }
      record.at = now();
      evidence.compensations.push(record);
      row({ kind: 'compensation', name: record.name, status: record.status, error: record.error, at: record.at });
    }
  };
  const setMaintenance = async (enabled: boolean, reason: string) => {
    const result = await quick.setMaintenance({ environment, enabled, reason, actor: `plandb:${workflowId}`, owner: workflowId });
    notifier.notify({ event: enabled ? 'maintenance-on' : 'maintenance-off', mode: result.mode, reason });
    return result;
  };

  /** Moves the machine on `event`; a stop (or rolling-back) unwinds with `reason`. */
  const stopWith = (event: MigrationEvent, reason: string): never => {
    move(event);
    evidence.stopReason = reason;
    throw new Stop(reason);
  };

  const awaitDecision = async (step: StepName, error: string): Promise<void> => {
    move('step-failed');
    notifier.notify({ event: 'step-failed', step, attempt: evidence.steps.at(-1)?.attempt ?? 1, error });
    decision = null;
    await flush();
    const decided = await condition(() => decision !== null, DECISION_TIMEOUT_MS);
    const d: DecideRequest = decided && decision ? decision : { action: 'abort', by: 'plandb', comment: 'no decision within 7 days' };
    const at = now();
    evidence.decisions.push({ ...d, at, step });
    row({ kind: 'decision', name: step, status: d.action, actor: d.by ?? null, comment: d.comment ?? null, at });
    const who = d.by ?? 'unknown';
    if (!decided) stopWith('timed-out', `step ${step} failed (${error}); no decision within 7 days`);
    if (d.action === 'rollback') stopWith('rollback', `step ${step} failed (${error}); rolled back by ${who}`);
    if (d.action === 'abort') stopWith('abort', `step ${step} failed (${error}); aborted by ${who}`);
    move('retry');
  };

  /** Runs a step; on failure waits for a decision: retry runs it again, rollback/abort stop the migration. */
  const step = async <T>(name: StepName, fn: () => Promise<T>, summarize: (t: T) => unknown = (t) => t): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      if (name === 'post-check' && evidence.status === 'running') move('post-check-started');
      const record: StepRecord = { name, status: 'running', attempt, startedAt: now(), finishedAt: null, output: null, error: null };
      evidence.steps.push(record);
      evidence.currentStep = name;
      row({ kind: 'step', name, status: 'running', attempt, at: record.startedAt });
      await flush();
      try {
        const out = await fn();
        Object.assign(record, { status: 'completed', finishedAt: now(), output: summarize(out) });
        stepDurations.push({ step: name, seconds: (Date.parse(record.finishedAt!) - Date.parse(record.startedAt)) / 1000 });
        row({ kind: 'step', name, status: 'completed', attempt, summary: record.output, at: record.finishedAt! });
        publish();
        return out;
      } catch (err) {
        if (isCancellation(err) || err instanceof Stop) throw err;
        const error = excerpt(messageOf(err), MAX_ERROR_TEXT);
        Object.assign(record, { status: 'failed', finishedAt: now(), error });
        row({ kind: 'step', name, status: 'failed', attempt, error, at: record.finishedAt! });
        await awaitDecision(name, error);
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
    row({ kind: 'step', name: stepName, status: 'running', attempt: 1, summary: record.output, at: record.startedAt });
    move('gate-opened');
    const waiting = gates.wait(name, p.approval.approvers, p.approval.timeoutMs);
    notifier.notify({
      event: 'gate-opened',
      gate: name,
      approvers: p.approval.approvers,
      timeoutMs: p.approval.timeoutMs,
      eta: backfillEtaOf(evidence),
    });
    await flush();
    const outcome = await waiting;
    const finish = (status: 'completed' | 'failed', error: string | null) => {
      Object.assign(record, {
        status,
        finishedAt: now(),
        error,
        output: { gate: name, ...(outcome ? { decision: outcome.decision, by: outcome.approver } : {}) },
      });
      row({ kind: 'step', name: stepName, status, attempt: 1, summary: record.output, error, at: record.finishedAt! });
      stepDurations.push({ step: stepName, seconds: (Date.parse(record.finishedAt!) - Date.parse(record.startedAt)) / 1000 });
    };
    if (!outcome) {
      const seconds = p.approval.timeoutMs / 1000;
      finish('failed', `no decision within ${seconds}s`);
      stopWith('timed-out', `gate "${name}" timed out after ${seconds}s without a decision`);
    } else if (outcome.decision === 'rejected') {
      finish('failed', `rejected by ${outcome.approver}`);
      stopWith('rejected', `gate "${name}" rejected by ${outcome.approver}${outcome.comment ? `: ${outcome.comment}` : ''}`);
    } else {
      move('approved');
      finish('completed', null);
    }
  };

  const backfillChild = (args: Omit<BackfillInput, 'environment'>) =>
    executeChild<typeof backfillRepository>('backfillRepository', {
      workflowId: workflowIdFor(environment, 'backfill'),
      args: [{ environment, ...args }],
      // A cancelled or terminated migration cancels its backfill, which closes its own run.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
  const backfillSummary = (r: Awaited<ReturnType<typeof backfillChild>>) => ({
    runId: r.runId,
    mode: r.mode,
    status: r.status,
    artifactsRead: r.artifactsRead,
    versionsWritten: r.versionsWritten,
    versionsSkipped: r.versionsSkipped,
    versionsRejected: r.versionsRejected,
    versionsConflicted: r.versionsConflicted,
    plansWritten: r.plansWritten,
    seriesWritten: r.seriesWritten,
    kpisWritten: r.kpisWritten,
    eventsWritten: r.eventsWritten,
    errorsCount: r.errorsCount,
  });

  /** Verify as a step (a report that does not pass fails it); `scope` narrows it for the online cut-over. */
  const verifyStep = (name: StepName, scope: Pick<Parameters<typeof long.verify>[0], 'upToId' | 'changedLater' | 'delta'>) =>
    step(
      name,
      async () => {
        const p = policy!;
        const result = await long.verify({
          environment,
          sample: p.verify.sample,
          representativePlans: p.verify.representativePlans,
          workflowId,
          ...scope,
        });
        if (!result.passed)
          throw ApplicationFailure.nonRetryable(
            `verification failed (report ${result.reportId}): ${result.problems.join('; ')}`,
            'VerificationFailed',
          );
        return result;
      },
      // The full report is in plan_verify_reports; the evidence keeps its id and the counts.
      (r) => ({
        reportId: r.reportId,
        passed: r.passed,
        versionsExpected: r.versionsExpected,
        versionsChecked: r.versionsChecked,
        mismatches: r.mismatches,
        ...(r.changedSinceWritten && { changedSinceWritten: r.changedSinceWritten }),
        ...(r.fixedSinceRejected && { fixedSinceRejected: r.fixedSinceRejected }),
        missingInRepository: r.missingInRepository,
        extraInRepository: r.extraInRepository,
        plansInconsistent: r.plansInconsistent,
        representativePlans: r.representative.length,
        httpChecks: r.http.length,
        seconds: r.seconds,
      }),
    );

  /** Closes the online cut-over's open maintenance window (once maintenance is off), for the evidence and the metric. */
  const closeMaintenanceWindow = () => {
    const open = evidence.cutover?.maintenanceWindow;
    if (!open || open.off !== null) return open ?? null;
    const window = closeWindow(open, now());
    evidence.cutover = { delta: null, ...evidence.cutover, maintenanceWindow: window };
    windowSeconds = window.seconds;
    return window;
  };

  // The backup to roll back to; none when no backup was taken or it predates the repository tables.
  let backupId: number | null = null;
  try {
    try {
      policy = await quick.resolveMigrationPolicy({ environment, overrides });
    } catch (err) {
      stopWith('fail', `the policy of ${environment} could not be resolved: ${excerpt(messageOf(err), MAX_ERROR_TEXT)}`);
    }
    const p = policy!;
    evidence.policy = p;
    const gateBeforeBackfill = p.approval.required && p.backfill.sampleLimit !== null;
    const maintained = p.maintenance.mode !== 'none';

    await step('preflight', () => long.preflight({ environment }));
    if (p.approval.required && !gateBeforeBackfill) await gate('start', 'approval');
    if (p.backup.enabled) {
      const backup = await step('backup', () => long.backup({ environment, workflowId }));
      backupId = backup.skipped ? null : backup.backupId;
    }
    // Before maintenance: the flag's table comes from the migrations.
    await step('migrate', () => schema.migrate({ environment }));
    // Recorded histories predate the online cut-over (their policies have no `cutover`): they keep this order.
    const online = maintained && p.cutover === 'online' && patched('online-cutover');
    const maintenanceOn = async (beforeFlip?: () => Promise<void>) => {
      // Executions started before windows existed issue no new commands here.
      if (p.maintenanceWindow && patched('maintenance-window')) {
        const waitForWindow = windowStep(environment, p.maintenanceWindow, {
          onWait: async (plan) => {
            move('window-wait');
            evidence.steps.at(-1)!.output = plan;
            row({ kind: 'step', name: 'maintenance-window', status: 'waiting', summary: plan, at: now() });
            await flush();
          },
          onOpen: () => move('window-opened'),
        });
        await step('maintenance-window', waitForWindow);
      }
      if (beforeFlip) await beforeFlip();
      compensations.push({
        name: 'maintenance-off',
        undo: async () => {
          await setMaintenance(false, `plandb migration ${workflowId} stopped: ${evidence.status}`);
          closeMaintenanceWindow();
        },
      });
      await step('maintenance-on', () => setMaintenance(true, `plandb migration ${workflowId}`));
      if (online) evidence.cutover = { delta: null, ...evidence.cutover, maintenanceWindow: { on: now(), off: null, seconds: null } };
    };
    if (maintained && !online) await maintenanceOn();
    if (p.backfill.sampleLimit !== null) {
      const limit = p.backfill.sampleLimit;
      await step('sample-dry-run', () => backfillChild({ dryRun: true, limit, batchSize: p.backfill.batchSize }), backfillSummary);
    }
    if (gateBeforeBackfill) await gate('full-backfill', 'approval');
    const backfilled = await step(
      'backfill',
      async () => {
        const resumeFrom = p.backfill.resume ? await quick.findResumableRun({ environment }) : null;
        // The preflight's prediction sets the ETA until the run has measured its own rate.
        const predicted = predictedRate(backfillEtaOf(evidence));
        return backfillChild({
          force: p.backfill.mode === 'force',
          batchSize: p.backfill.batchSize,
          maxErrors: p.backfill.maxErrors,
          ...(resumeFrom ? { resumeFrom } : {}),
          ...(predicted !== null && { predictedArtifactsPerSecond: predicted }),
        });
      },
      backfillSummary,
    );
    // Online, the application appends while verify runs: what follows the backfilled range is the delta's.
    await verifyStep('verify', online ? { upToId: backfilled.upToId, changedLater: true } : {});
    if (online) {
      await finalDelta(
        {
          environment,
          policy: p,
          step,
          gate,
          maintenanceOn,
          backfillChild,
          verify: verifyStep,
          onDelta: (delta, which) =>
            void (evidence.cutover = { maintenanceWindow: null, delta: null, ...evidence.cutover, [which]: delta }),
        },
        backfilled,
      );
    }
    const recordCapacity = () => step('record-capacity', () => quick.recordCapacity({ environment }));
    // Online, capacity is recorded once maintenance is lifted: counting rows need not hold the application up.
    const capacityAfterWindow = online && patched('capacity-after-window');
    if (!capacityAfterWindow) await recordCapacity();
    if (p.spotCheck.required) await gate('spot-check', 'spot-check');
    if (maintained) {
      await step(
        'maintenance-off',
        () => setMaintenance(false, `plandb migration ${workflowId} done`),
        // The window on → off is the online cut-over's evidence.
        (r) => (online ? { ...r, window: closeMaintenanceWindow() } : r),
      );
      // Lifted: nothing left to undo for it.
      const at = compensations.findIndex((c) => c.name === 'maintenance-off');
      if (at >= 0) compensations.splice(at, 1);
    }
    if (capacityAfterWindow) await recordCapacity();
    // From here the repository is the source of truth: the reading the legacy-table metrics and alert count from.
    const cutover = patched(LEGACY_USAGE_PATCH)
      ? await step('legacy-cutover', () => quick.recordLegacyCutover({ environment, workflowId, actor: `plandb:${workflowId}` }))
      : null;
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
        // Who still used plan_artifacts during the watch (an execution upgraded mid-watch has no cut-over: since the latest reset).
        // Informational: a report that cannot be made does not fail the watch.
        const legacyUsage = patched(LEGACY_USAGE_PATCH)
          ? await quick
              .legacyUsageReport({ environment, workflowId, ...(cutover ? { since: String(cutover.snapshotId) } : {}) })
              .catch((err: unknown) => ({ error: excerpt(messageOf(err), MAX_ERROR_TEXT) }))
          : undefined;
        return { hours: p.postCheck.hours, baseline, checks: checks.length, last: checks.at(-1) ?? baseline, legacyUsage };
      });
    }
    move('finished');
    evidence.currentStep = null;
    evidence.finishedAt = now();
    evidence.stopReason = 'completed';
    notifier.notify({ event: 'migration-completed', evidence: view() });
    await notifier.settle();
    row({ kind: 'stop', name: 'completed', status: 'completed', comment: 'completed', at: evidence.finishedAt });
    await flush();
    return view();
  } catch (err) {
    const cancelled = isCancellation(err);
    if (!(err instanceof Stop) && !isFinal(evidence.status) && evidence.status !== 'rolling-back') {
      evidence.stopReason = cancelled ? 'cancellation requested' : excerpt(messageOf(err), MAX_ERROR_TEXT);
      move(cancelled ? 'cancel' : 'fail');
    }
    const interrupted = evidence.steps.at(-1);
    if (interrupted?.status === 'running') {
      Object.assign(interrupted, { status: 'failed', finishedAt: now(), error: `stopped: ${evidence.stopReason}` });
      row({
        kind: 'step',
        name: interrupted.name,
        status: 'failed',
        attempt: interrupted.attempt,
        error: interrupted.error,
        at: interrupted.finishedAt!,
      });
    }
    // Whatever stopped it, the undos run to the end: a second cancel must not leave maintenance on.
    await CancellationScope.nonCancellable(async () => {
      if (evidence.status === 'rolling-back') await rollBack(backupId);
      await compensate();
      await notifier.settle();
      evidence.currentStep = null;
      evidence.finishedAt = now();
      row({ kind: 'stop', name: evidence.status, status: evidence.status, comment: evidence.stopReason, at: evidence.finishedAt });
      // If even this write fails (the database is gone, or another migration holds the environment),
      // the stop must still be reported as itself; the reconciler closes the run row later.
      await flush().catch(() => undefined);
    });
    if (cancelled) throw err;
    throw ApplicationFailure.nonRetryable(
      `migration of ${environment} ${evidence.status}: ${evidence.stopReason}`,
      `Migration${evidence.status}`,
    );
  }

  /** `decide rollback`: restore the backup (or clear the repository); maintenance is lifted either way. */
  async function rollBack(rollbackTo: number | null): Promise<void> {
    const actor = `plandb:${workflowId}`;
    const record: StepRecord = {
      name: 'rollback',
      status: 'running',
      attempt: 1,
      startedAt: now(),
      finishedAt: null,
      output: null,
      error: null,
    };
    evidence.steps.push(record);
    evidence.currentStep = 'rollback';
    row({ kind: 'step', name: 'rollback', status: 'running', attempt: 1, at: record.startedAt });
    await flush();
    try {
      const result = await rollbackProcedure(
        rollbackTo === null
          ? { environment, mode: 'clear-repository', actor, owner: workflowId }
          : { environment, mode: 'restore-backup', backupId: rollbackTo, actor, owner: workflowId },
      );
      Object.assign(record, { status: 'completed', finishedAt: now(), output: result });
      move('rollback-done');
    } catch (rollbackErr) {
      const error = excerpt(messageOf(rollbackErr), MAX_ERROR_TEXT);
      Object.assign(record, { status: 'failed', finishedAt: now(), error });
      move('rollback-failed');
      evidence.stopReason = `${evidence.stopReason}; the rollback did not complete: ${error}`;
    }
    row({
      kind: 'step',
      name: 'rollback',
      status: record.status,
      attempt: 1,
      summary: record.output,
      error: record.error,
      at: record.finishedAt!,
    });
  }
}
