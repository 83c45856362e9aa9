/**
 * promotion: Dev → Staging → Production as environmentMigration children, in order, with a `promote`
 * gate before each stage after the first, announced to the target environment's notification targets.
 * Stops at the first failure. Cancelling it cancels the running child, whose own compensations lift
 * maintenance before it ends.
 */
import {
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { checkEnvironmentName, workflowIdFor } from '../model/ids';
import type { MigrationEvidence } from '../model/migration';
import { transition, type MigrationEvent } from '../model/migration-state';
import { quick } from './activity-proxies';
import { promotionStatusQuery, PromotionInput, PromotionStatus } from './definitions';
import type { environmentMigration } from './environment-migration';
import { gateHint, refusedSignalsLine } from './evidence-markdown';
import { installGates } from './gates';
import { createNotifier, type Notifier } from './notifications';
import { PLAN_DB_STEP } from './search-attributes';

export async function promotion(input: PromotionInput): Promise<PromotionStatus> {
  const envs = input?.environments;
  if (!Array.isArray(envs) || !envs.length)
    throw ApplicationFailure.nonRetryable(
      'invalid promotion input: "environments" must list environments, e.g. ["dev","staging","production"]',
      'InvalidInput',
    );
  for (const e of envs) {
    const problem = checkEnvironmentName(e);
    if (problem) throw ApplicationFailure.nonRetryable(`invalid promotion input: ${problem}`, 'InvalidInput');
  }
  const gates = installGates();
  const status: PromotionStatus = {
    status: 'running',
    stages: envs.map((environment) => ({ environment, workflowId: workflowIdFor(environment, 'migration'), status: 'pending' })),
    openGate: null,
    approvals: gates.approvals,
    refusedSignals: 0,
    stopReason: null,
  };
  const view = (): PromotionStatus => ({ ...status, openGate: gates.openGate, refusedSignals: gates.refusedSignals });
  setHandler(promotionStatusQuery, view);
  const move = (event: MigrationEvent) => {
    status.status = transition(status.status, event);
  };

  // Who may open the gate now waiting: shown with a pasteable input in the UI's current details.
  let gateApprovers: string[] = [];
  const show = (step: string) => {
    upsertSearchAttributes([{ key: PLAN_DB_STEP, value: step }]);
    const v = view();
    setCurrentDetails(
      [
        `## plandb promotion: ${v.status}`,
        '',
        ...v.stages.map((s) => `- ${s.environment}: ${s.status}`),
        v.openGate ? `\n${gateHint(v.openGate, gateApprovers)}` : '',
        refusedSignalsLine(v),
        v.stopReason ? `\n${v.stopReason}` : '',
      ].join('\n'),
    );
  };
  const stop = (event: MigrationEvent, reason: string): never => {
    move(event);
    status.stopReason = reason;
    show(status.status);
    throw ApplicationFailure.nonRetryable(reason, 'PromotionStopped', view());
  };

  // Each gate's notifier; their deliveries are awaited (and recorded) before the promotion ends.
  const notifiers: Notifier[] = [];
  const settle = () => CancellationScope.nonCancellable(() => Promise.all(notifiers.map((n) => n.settle())));
  try {
    for (const [i, stage] of status.stages.entries()) {
      if (i > 0) {
        const policy = await quick.resolveMigrationPolicy({ environment: stage.environment, overrides: input.overrides ?? {} });
        const gate = `promote-to-${stage.environment}`;
        move('gate-opened');
        gateApprovers = policy.approval.approvers;
        const waiting = gates.wait(gate, gateApprovers, policy.approval.timeoutMs);
        const notifier = createNotifier({
          environment: stage.environment,
          workflowId: workflowInfo().workflowId,
          policy: () => policy,
          evidence: status,
        });
        notifiers.push(notifier);
        notifier.notify({ event: 'gate-opened', gate, approvers: gateApprovers, timeoutMs: policy.approval.timeoutMs });
        show(`gate:${gate}`);
        const got = await waiting;
        if (!got) {
          stage.status = 'timed-out';
          stop('timed-out', `promotion stopped before ${stage.environment}: gate ${gate} timed out`);
        } else if (got.decision !== 'approved') {
          stage.status = 'rejected';
          stop('rejected', `promotion stopped before ${stage.environment}: gate ${gate} rejected by ${got.approver}`);
        }
        move('approved');
      }
      stage.status = 'running';
      show(`migrating:${stage.environment}`);
      try {
        const evidence: MigrationEvidence = await executeChild<typeof environmentMigration>('environmentMigration', {
          workflowId: stage.workflowId,
          args: [{ environment: stage.environment, ...(input.overrides ?? {}) }],
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        });
        stage.status = evidence.status;
      } catch (err) {
        if (isCancellation(err)) throw err;
        stage.status = 'failed';
        stop('fail', `promotion stopped: the ${stage.environment} migration did not complete (${(err as Error).message})`);
      }
    }
  } catch (err) {
    // Cancelled: the running child was cancelled with us and lifted its own maintenance; end CANCELED.
    if (isCancellation(err)) {
      const running = status.stages.find((s) => s.status === 'running');
      if (running) running.status = 'cancelled';
      move('cancel');
      status.stopReason = 'promotion cancelled';
      show(status.status);
    }
    await settle();
    throw err;
  }
  await settle();
  move('finished');
  show('completed');
  return view();
}
