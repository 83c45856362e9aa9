/**
 * The online cut-over (policy `cutover: "online"`): the backfill and its verify ran with the application
 * live; this is what follows them — cut-over gate → [maintenance window] → pre-delta → verify it → maintenance
 * on → final delta → verify the delta. The spot-check gate and maintenance off stay with the migration's own
 * sequence (environment-migration.ts). The pre-delta is a delta taken with the application still live, right
 * before maintenance: it writes what the application appended and changed during the verify, the gate and
 * the window wait, so the final delta under maintenance holds only the seconds since.
 *
 * The final delta is a backfill run of mode `delta` over the whole legacy table (workflows/backfill-repository.ts
 * with `delta: true`), so it has the run row, shards, pause, cancel and evidence of any backfill: artifacts
 * appended after the backfill's range are written as a normal run writes them, and a version whose own
 * artifact's payload changed since it was written (checksum of the legacy payload ≠ stored source_checksum)
 * is rewritten in its batch's transaction. Its verify re-reads exactly those artifacts.
 */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { DeltaSummary, MigrationPolicy, StepName } from '../model/migration';
import { quick } from './activity-proxies';
import type { BackfillInput, BackfillResult } from './definitions';

/** What the migration lends the cut-over: its step, gate and maintenance machinery. */
export interface CutoverSteps {
  environment: string;
  policy: MigrationPolicy;
  step: <T>(name: StepName, fn: () => Promise<T>, summarize?: (t: T) => unknown) => Promise<T>;
  gate: (name: string, stepName: StepName) => Promise<void>;
  /** Waits for the maintenance window (if any), runs `beforeFlip`, registers maintenance-off as a compensation, then turns maintenance on. */
  maintenanceOn: (beforeFlip?: () => Promise<void>) => Promise<unknown>;
  backfillChild: (args: Omit<BackfillInput, 'environment'>) => Promise<BackfillResult>;
  /** The verify step: fails it (for a decision) when the report does not pass. */
  verify: (
    name: StepName,
    scope: { delta: { afterRunId: string; afterId: number }; upToId?: number; changedLater?: boolean },
  ) => Promise<unknown>;
  /** Called with each delta's size once it is known (the evidence keeps them). */
  onDelta: (delta: DeltaSummary, which: 'preDelta' | 'delta') => void;
}

/** The pre-delta before maintenance (executions started before it go straight to maintenance). */
const PRE_DELTA_PATCH = 'pre-delta';

/** After the online backfill `backfilled` and its verify: the gate, the pre-delta, maintenance on, the final delta and its verify. */
export async function finalDelta(s: CutoverSteps, backfilled: BackfillResult): Promise<DeltaSummary> {
  const { environment, policy: p } = s;
  if (backfilled.runId === null)
    throw ApplicationFailure.nonRetryable('the backfill reported no run id: nothing to take a delta after', 'NoBackfillRun');
  // What the next delta follows: the backfill, then the pre-delta.
  let after = { runId: backfilled.runId, upToId: backfilled.upToId };
  /** A delta run after `after`, as a step, with its size. */
  const deltaStep = (name: 'pre-delta' | 'delta') =>
    s.step(name, async (): Promise<DeltaSummary> => {
      const run = await s.backfillChild({ delta: true, batchSize: p.backfill.batchSize, maxErrors: p.backfill.maxErrors });
      const size = await quick.cutoverDeltaSize({ environment, afterRunId: after.runId, afterId: after.upToId, upToId: run.upToId });
      return {
        runId: run.runId!,
        afterId: after.upToId,
        upToId: run.upToId,
        ...size,
        artifactsRead: run.artifactsRead,
        errorsCount: run.errorsCount,
      };
    });
  if (p.approval.required) await s.gate('cutover', 'approval');
  await s.maintenanceOn(async () => {
    if (!patched(PRE_DELTA_PATCH)) return;
    const pre = await deltaStep('pre-delta');
    s.onDelta(pre, 'preDelta');
    // The application is still live: what it appends after the pre-delta, or changes after it read it, is the final delta's.
    await s.verify('verify-pre-delta', {
      delta: { afterRunId: after.runId, afterId: after.upToId },
      upToId: pre.upToId,
      changedLater: true,
    });
    after = { runId: pre.runId, upToId: pre.upToId };
  });
  const delta = await deltaStep('delta');
  s.onDelta(delta, 'delta');
  await s.verify('verify-delta', { delta: { afterRunId: after.runId, afterId: after.upToId } });
  return delta;
}
