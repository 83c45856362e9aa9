/**
 * The online cut-over (policy `cutover: "online"`): the backfill and its verify ran with the application
 * live; this is what follows them — cut-over gate → maintenance on → final delta → verify the delta. The
 * spot-check gate and maintenance off stay with the migration's own sequence (environment-migration.ts).
 *
 * The final delta is a backfill run of mode `delta` over the whole legacy table (workflows/backfill-repository.ts
 * with `delta: true`), so it has the run row, shards, pause, cancel and evidence of any backfill: artifacts
 * appended after the backfill's range are written as a normal run writes them, and a version whose own
 * artifact's payload changed since it was written (checksum of the legacy payload ≠ stored source_checksum)
 * is rewritten in its batch's transaction. Its verify re-reads exactly those artifacts.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { DeltaSummary, MigrationPolicy, StepName } from '../model/migration';
import { quick } from './activity-proxies';
import type { BackfillInput, BackfillResult } from './definitions';

/** What the migration lends the cut-over: its step, gate and maintenance machinery. */
export interface CutoverSteps {
  environment: string;
  policy: MigrationPolicy;
  step: <T>(name: StepName, fn: () => Promise<T>, summarize?: (t: T) => unknown) => Promise<T>;
  gate: (name: string, stepName: StepName) => Promise<void>;
  /** Registers maintenance-off as a compensation, then turns maintenance on. */
  maintenanceOn: () => Promise<unknown>;
  backfillChild: (args: Omit<BackfillInput, 'environment'>) => Promise<BackfillResult>;
  /** The verify step: fails it (for a decision) when the report does not pass. */
  verify: (name: StepName, scope: { delta: { afterRunId: string; afterId: number } }) => Promise<unknown>;
  /** Called with the delta's size once it is known (the evidence keeps it). */
  onDelta: (delta: DeltaSummary) => void;
}

/** After the online backfill `backfilled` and its verify: the gate, maintenance on, the final delta and its verify. */
export async function finalDelta(s: CutoverSteps, backfilled: BackfillResult): Promise<DeltaSummary> {
  const { environment, policy: p } = s;
  const afterRunId = backfilled.runId;
  if (afterRunId === null)
    throw ApplicationFailure.nonRetryable('the backfill reported no run id: nothing to take a delta after', 'NoBackfillRun');
  const afterId = backfilled.upToId;
  if (p.approval.required) await s.gate('cutover', 'approval');
  await s.maintenanceOn();
  const delta = await s.step('delta', async (): Promise<DeltaSummary> => {
    const run = await s.backfillChild({ delta: true, batchSize: p.backfill.batchSize, maxErrors: p.backfill.maxErrors });
    const size = await quick.cutoverDeltaSize({ environment, afterRunId, afterId, upToId: run.upToId });
    return { runId: run.runId!, afterId, upToId: run.upToId, ...size, artifactsRead: run.artifactsRead, errorsCount: run.errorsCount };
  });
  s.onDelta(delta);
  await s.verify('verify-delta', { delta: { afterRunId, afterId } });
  return delta;
}
